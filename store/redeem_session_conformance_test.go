package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// A redeemed code comes with its browser session's state, read in the
// same statement, on every backend: live, ended, or gone; and so does a
// code presented again.
func TestRedeemedCodeCarriesItsSession(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			testRedeemedCodeCarriesItsSession(t, openMigrated(t, b.NewURL(t)))
		})
	}
}

func testRedeemedCodeCarriesItsSession(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := user("redeem@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	browserSession(t, db, u, "bs-live", now)
	browserSession(t, db, u, "bs-ended", now)
	if _, _, err := db.EndBrowserSession(ctx, "bs-ended", now); err != nil {
		t.Fatal(err)
	}
	code := func(hash, session string) {
		t.Helper()
		c := oidc.AuthCode{Hash: hash, ClientID: "app", UserID: u.ID, SessionID: session, RedirectURI: "https://app/cb",
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := db.CreateAuthCode(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	code("code-live", "bs-live")
	code("code-ended", "bs-ended")
	code("code-gone", "bs-never-existed")

	got, err := db.RedeemAuthCode(ctx, "code-live", now, "f1", "j1", now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Session; s.ID != "bs-live" || s.UserID != u.ID || !s.ExpiresAt.Equal(now.Add(time.Hour)) || !s.RevokedAt.IsZero() {
		t.Errorf("live session with the code: %+v", s)
	}
	// The code comes with its user as it is at redemption.
	if got.User.ID != u.ID || got.User.Email != u.Email || got.User.Locked {
		t.Errorf("user with the code: %+v", got.User)
	}
	again, err := db.RedeemAuthCode(ctx, "code-live", now, "f9", "j9", now.Add(time.Minute))
	if !errors.Is(err, authority.ErrConflict) || again.Session.ID != "bs-live" || again.FamilyID != "f1" {
		t.Errorf("code presented again: %v, session %q, family %q", err, again.Session.ID, again.FamilyID)
	}
	if err := db.SetLocked(ctx, u.ID, true, now); err != nil {
		t.Fatal(err)
	}
	got, err = db.RedeemAuthCode(ctx, "code-ended", now, "f2", "j2", now.Add(time.Minute))
	if err != nil || got.Session.ID != "bs-ended" || got.Session.RevokedAt.IsZero() {
		t.Errorf("ended session with the code: %v %+v", err, got.Session)
	}
	if !got.User.Locked {
		t.Errorf("a user locked after the code was issued comes unlocked with it: %+v", got.User)
	}
	got, err = db.RedeemAuthCode(ctx, "code-gone", now, "f3", "j3", now.Add(time.Minute))
	if err != nil || got.Session.ID != "" {
		t.Errorf("no session with the code: %v %+v", err, got.Session)
	}
}
