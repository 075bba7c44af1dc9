package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// The reach of ending sessions, on every backend: the families of the
// access tokens that codes issued come back with the sessions ended, and
// a password change can cancel every pending mailed link.
func TestReachConformance(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"RevokeUserSessionsReturnsCodeFamilies", testRevokeUserSessionsCodeFamilies},
		{"EndBrowserSessionReturnsCodeFamilies", testEndBrowserSessionCodeFamilies},
		{"CancelAccountTokens", testCancelAccountTokens},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					c.fn(t, openMigrated(t, b.NewURL(t)))
				})
			}
		})
	}
}

// browserSession stores a live browser session of u.
func browserSession(t *testing.T, db *store.DB, u authority.User, id string, now time.Time) {
	t.Helper()
	s := oidc.BrowserSession{ID: id, TokenHash: authority.HashToken(id), UserID: u.ID, AuthTime: now,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateBrowserSession(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// redeemedCode stores a code issued in session and redeems it, issuing
// an access token of family that lives until accessExp (nothing redeemed
// when family is empty).
func redeemedCode(t *testing.T, db *store.DB, u authority.User, session, family string, now, accessExp time.Time) {
	t.Helper()
	ctx := context.Background()
	hash := authority.HashToken(session + family + accessExp.String())
	c := oidc.AuthCode{Hash: hash, ClientID: "app", UserID: u.ID, SessionID: session, RedirectURI: "https://app/cb",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := db.CreateAuthCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	if family == "" {
		return
	}
	if _, err := db.RedeemAuthCode(ctx, hash, now, family, "jti-"+family, accessExp); err != nil {
		t.Fatal(err)
	}
}

func testRevokeUserSessionsCodeFamilies(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := user("codes@example.com")
	other := user("other@example.com")
	for _, x := range []authority.User{u, other} {
		if err := db.CreateUser(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	browserSession(t, db, u, "bs-kept", now)
	browserSession(t, db, u, "bs-ended", now)
	browserSession(t, db, other, "bs-other", now)
	redeemedCode(t, db, u, "bs-kept", "fam-kept", now, now.Add(10*time.Minute))
	redeemedCode(t, db, u, "bs-ended", "fam-ended", now, now.Add(10*time.Minute))
	redeemedCode(t, db, u, "bs-ended", "fam-expired", now.Add(-time.Hour), now.Add(-time.Minute))
	redeemedCode(t, db, u, "bs-ended", "", now, now)
	redeemedCode(t, db, other, "bs-other", "fam-other", now, now.Add(10*time.Minute))

	fams, n, err := db.RevokeUserSessions(ctx, u.ID, "bs-kept", now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fams, []string{"fam-ended"}) || n != 1 {
		t.Fatalf("sparing bs-kept: families %v, %d sessions; want [fam-ended], 1", fams, n)
	}
	fams, _, err = db.RevokeUserSessions(ctx, u.ID, "", now)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(fams)
	if !slices.Equal(fams, []string{"fam-ended", "fam-kept"}) {
		t.Fatalf("sparing nothing: families %v; want fam-ended and fam-kept", fams)
	}
	// The one-session form reaches the codes of a browser session.
	browserSession(t, db, other, "bs-other-2", now)
	redeemedCode(t, db, other, "bs-other-2", "fam-other-2", now, now.Add(10*time.Minute))
	fams, err = db.RevokeUserSession(ctx, other.ID, "bs-other-2", now)
	if err != nil || !slices.Equal(fams, []string{"fam-other-2"}) {
		t.Fatalf("one browser session: families %v, %v; want [fam-other-2]", fams, err)
	}
	if s, err := db.BrowserSessionByID(ctx, "bs-other-2"); err != nil || s.RevokedAt.IsZero() || s.UserID != other.ID {
		t.Fatalf("BrowserSessionByID of an ended session: %+v, %v", s, err)
	}
	if _, err := db.BrowserSessionByID(ctx, "no-such-session"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("BrowserSessionByID of an unknown session: %v", err)
	}
}

func testEndBrowserSessionCodeFamilies(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u, rt := family(t, db, "end@example.com", now)
	browserSession(t, db, u, "bs-a", now)
	browserSession(t, db, u, "bs-b", now)
	rt2 := authority.RefreshToken{Hash: authority.HashToken("end-sess"), FamilyID: "fam-refresh-a", UserID: u.ID, ClientID: "app",
		SessionID: "bs-a", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateRefreshToken(ctx, rt2); err != nil {
		t.Fatal(err)
	}
	redeemedCode(t, db, u, "bs-a", "fam-code-a", now, now.Add(10*time.Minute))
	redeemedCode(t, db, u, "bs-b", "fam-code-b", now, now.Add(10*time.Minute))

	userID, fams, err := db.EndBrowserSession(ctx, "bs-a", now)
	slices.Sort(fams)
	if err != nil || userID != u.ID || !slices.Equal(fams, []string{"fam-code-a", "fam-refresh-a"}) {
		t.Fatalf("EndBrowserSession = %q, %v, %v; want the user, fam-code-a and fam-refresh-a", userID, fams, err)
	}
	if liveTokens(t, db, rt.FamilyID) != 1 || liveTokens(t, db, "fam-refresh-a") != 0 {
		t.Fatal("ending a browser session revoked more, or less, than its refresh tokens")
	}
	if _, _, err := db.EndBrowserSession(ctx, "bs-a", now); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("ending it again: %v, want ErrNotFound", err)
	}
}

func testCancelAccountTokens(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u, other := user("links@example.com"), user("keep@example.com")
	for _, x := range []authority.User{u, other} {
		if err := db.CreateUser(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	tok := func(name, userID, kind string, exp time.Time) string {
		h := authority.HashToken(name)
		if err := db.CreateAccountToken(ctx, account.Token{Hash: h, Kind: kind, UserID: userID, Email: "x@example.com",
			CreatedAt: now, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	live := []string{
		tok("verify", u.ID, account.TokenVerifyEmail, now.Add(time.Hour)),
		tok("reset", u.ID, account.TokenReset, now.Add(time.Hour)),
		tok("change", u.ID, account.TokenEmailChange, now.Add(time.Hour)),
	}
	tok("expired", u.ID, account.TokenReset, now.Add(-time.Minute))
	kept := tok("other", other.ID, account.TokenReset, now.Add(time.Hour))

	n, err := db.CancelAccountTokens(ctx, u.ID, now)
	if err != nil || n != 3 {
		t.Fatalf("CancelAccountTokens = %d, %v; want 3 live links", n, err)
	}
	for _, h := range live {
		if got, err := db.AccountTokenByHash(ctx, h); err != nil || got.UsedAt.IsZero() {
			t.Fatalf("link %+v, %v: not cancelled", got, err)
		}
		if err := db.UseAccountToken(ctx, h, now); !errors.Is(err, authority.ErrNotFound) {
			t.Fatalf("a cancelled link was spent: %v", err)
		}
	}
	if err := db.UseAccountToken(ctx, kept, now); err != nil {
		t.Fatalf("another user's link was cancelled: %v", err)
	}
}
