package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/upstream"
)

// testUpstreams: upstreams, their identities (one per upstream and
// subject) and the sign-ins in flight (spent once) behave the same on
// every store.
func testUpstreams(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	up := upstream.Upstream{ID: "corp", Name: "Corp", Type: "oidc", Issuer: "https://idp.example.com", ClientID: "sigil",
		SealedSecret: "sealed", Scopes: []string{"openid", "email"}, Linking: "none", CreatedAt: now}
	if err := db.CreateUpstream(ctx, up); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUpstream(ctx, up); !errors.Is(err, upstream.ErrUpstreamTaken) {
		t.Errorf("duplicate id: %v", err)
	}
	up.Name, up.Linking = "Corp SSO", "verified-email"
	if err := db.UpdateUpstream(ctx, up); err != nil {
		t.Fatal(err)
	}
	got, err := db.UpstreamByID(ctx, "corp")
	if err != nil || got.Name != "Corp SSO" || got.Linking != "verified-email" || len(got.Scopes) != 2 || got.SealedSecret != "sealed" || !got.CreatedAt.Equal(now) {
		t.Errorf("UpstreamByID: %+v %v", got, err)
	}
	if err := db.UpdateUpstream(ctx, upstream.Upstream{ID: "none"}); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("update of no upstream: %v", err)
	}
	if list, err := db.Upstreams(ctx); err != nil || len(list) != 1 {
		t.Errorf("Upstreams: %+v %v", list, err)
	}

	// A user created through the upstream is linked in the same
	// transaction; never a second account with the same email.
	u := authority.User{ID: authority.NewID(), Email: "fed@example.com", CreatedAt: now, UpdatedAt: now}
	idn := upstream.Identity{UpstreamID: "corp", Subject: "s1", UserID: u.ID, Email: u.Email, CreatedAt: now}
	if err := db.CreateLinkedUser(ctx, u, true, idn); err != nil {
		t.Fatal(err)
	}
	u2 := authority.User{ID: authority.NewID(), Email: "fed@example.com", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateLinkedUser(ctx, u2, false, upstream.Identity{UpstreamID: "corp", Subject: "s2", UserID: u2.ID, CreatedAt: now}); !errors.Is(err, authority.ErrEmailTaken) {
		t.Errorf("second account with one email: %v", err)
	}
	if _, err := db.IdentityBySubject(ctx, "corp", "s2"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("the refused account's identity was stored: %v", err)
	}
	if back, err := db.UserByEmail(ctx, "fed@example.com"); err != nil || back.ID != u.ID || !back.EmailVerified {
		t.Errorf("created user: %+v %v", back, err)
	}
	if err := db.LinkIdentity(ctx, idn); !errors.Is(err, upstream.ErrIdentityTaken) {
		t.Errorf("identity linked twice: %v", err)
	}
	if err := db.LinkIdentity(ctx, upstream.Identity{UpstreamID: "corp", Subject: "s3", UserID: u.ID, Email: u.Email, CreatedAt: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.IdentityBySubject(ctx, "corp", "s1"); err != nil || got.UserID != u.ID || got.Email != u.Email {
		t.Errorf("IdentityBySubject: %+v %v", got, err)
	}
	if list, err := db.IdentitiesOf(ctx, u.ID); err != nil || len(list) != 2 || list[0].Subject != "s1" {
		t.Errorf("IdentitiesOf: %+v %v", list, err)
	}
	// Two identities of one account without a password (one account
	// without a password); a third, of an account with a password,
	// counts as linked only.
	withPwd := authority.User{ID: authority.NewID(), Email: "pwd@example.com", PasswordHash: "hash", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateLinkedUser(ctx, withPwd, true, upstream.Identity{UpstreamID: "corp", Subject: "s4", UserID: withPwd.ID, Email: withPwd.Email, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountIdentities(ctx, "corp"); err != nil || n.Linked != 3 || n.WithoutPassword != 1 {
		t.Errorf("CountIdentities: %+v %v", n, err)
	}
	if n, err := db.CountIdentities(ctx, "other"); err != nil || n.Linked != 0 || n.WithoutPassword != 0 {
		t.Errorf("CountIdentities of no upstream: %+v %v", n, err)
	}

	// A pending sign-in is spent once, even by concurrent takes.
	p := upstream.Pending{Hash: "h1", Kind: upstream.KindState, UpstreamID: "corp", BrowserHash: "b", Nonce: "n", Authz: "a=1",
		EmailVerified: true, ExpiresAt: now.Add(time.Minute), Fresh: true}
	if err := db.PutPending(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TakePending(ctx, "h1", upstream.KindLink); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("taken as another kind: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := db.TakePending(ctx, "h1", upstream.KindState)
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
				if got.Nonce != "n" || got.Authz != "a=1" || !got.EmailVerified || !got.Fresh || !got.ExpiresAt.Equal(p.ExpiresAt) {
					t.Errorf("TakePending: %+v", got)
				}
			} else if !errors.Is(err, authority.ErrNotFound) {
				t.Errorf("TakePending: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("a pending sign-in was taken %d times", won)
	}

	// Deleting the upstream deletes its identities.
	if err := db.DeleteUpstream(ctx, "corp"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.IdentityBySubject(ctx, "corp", "s1"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("identity outlived its upstream: %v", err)
	}
	if err := db.DeleteUpstream(ctx, "corp"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
