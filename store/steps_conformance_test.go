package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
)

// pkce_optional is stored, listed and replaced with the client; a client
// stored without it requires PKCE.
func testClientPKCEOptional(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	legacy := authority.Client{ID: "legacy", Name: "Legacy", SecretHash: "h", Scopes: []string{}, Audience: "a", CreatedAt: now,
		RedirectURIs: []string{"https://legacy.test/cb"}, GrantTypes: []string{"authorization_code"}, PKCEOptional: true}
	strict := legacy
	strict.ID, strict.PKCEOptional, strict.CreatedAt = "strict", false, now.Add(time.Second)
	for _, c := range []authority.Client{legacy, strict} {
		if err := db.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.ClientByID(ctx, "legacy"); err != nil || !got.PKCEOptional {
		t.Fatalf("legacy = %+v, %v", got, err)
	}
	if got, err := db.ClientByID(ctx, "strict"); err != nil || got.PKCEOptional {
		t.Fatalf("strict = %+v, %v", got, err)
	}
	list, err := db.ListClients(ctx)
	if err != nil || len(list) != 2 || !list[0].PKCEOptional || list[1].PKCEOptional {
		t.Fatalf("list = %+v, %v", list, err)
	}
	strict.PKCEOptional = true
	if err := db.PutClient(ctx, strict); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ClientByID(ctx, "strict"); err != nil || !got.PKCEOptional {
		t.Fatalf("after PutClient = %+v, %v", got, err)
	}
}

// Signing in again in a live session stores its new cookie's hash: the old
// hash finds nothing, the new one the session with its new auth_time and
// amr; an ended session is not signed in again (ErrNotFound).
func testBrowserSessionReauthReplacesCookie(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	u := user("reauth@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := oidc.BrowserSession{ID: "s1", TokenHash: "old", UserID: u.ID, AuthTime: now.Add(-time.Hour), AMR: []string{"pwd"},
		CreatedAt: now.Add(-time.Hour), LastUsedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateBrowserSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.ReauthBrowserSession(ctx, "s1", "new", now, []string{"pwd", "otp", "mfa"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.BrowserSessionByHash(ctx, "old"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("the replaced hash: %v, want ErrNotFound", err)
	}
	got, gotUser, err := db.BrowserSessionByHash(ctx, "new")
	if err != nil || got.ID != "s1" || !got.AuthTime.Equal(now) || len(got.AMR) != 3 {
		t.Fatalf("the new hash: %+v, %v", got, err)
	}
	// The session comes with its user, read in the same statement.
	if gotUser.ID != u.ID || gotUser.Email != u.Email {
		t.Fatalf("the session's user: %+v, want %s", gotUser, u.ID)
	}
	if _, _, err := db.EndBrowserSession(ctx, "s1", now); err != nil {
		t.Fatal(err)
	}
	if err := db.ReauthBrowserSession(ctx, "s1", "newer", now, []string{"pwd"}); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("signing in again in an ended session: %v, want ErrNotFound", err)
	}
}
