package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
)

// testRegistration: initial access tokens are spent one use at a time,
// never past their uses or expiry even when spent concurrently, and a
// registered client keeps its registration time and token hash.
func testRegistration(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	tok := oidc.RegistrationToken{ID: "t1", TokenHash: "h1", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Uses: 3, UsesLeft: 3}
	old := oidc.RegistrationToken{ID: "t0", TokenHash: "h0", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute), Uses: 1, UsesLeft: 1}
	for _, x := range []oidc.RegistrationToken{tok, old} {
		if err := db.CreateRegistrationToken(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.RegistrationTokens(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "t1" || list[0].UsesLeft != 3 || !list[0].ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("RegistrationTokens: %+v %v", list, err)
	}
	if err := db.SpendRegistrationToken(ctx, "h0", now); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("expired token spent: %v", err)
	}
	if err := db.SpendRegistrationToken(ctx, "nope", now); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("unknown token spent: %v", err)
	}
	// Ten at once for three uses: exactly three succeed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	spent := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if db.SpendRegistrationToken(ctx, "h1", now) == nil {
				mu.Lock()
				spent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if spent != 3 {
		t.Errorf("%d uses spent of 3", spent)
	}
	if list, _ := db.RegistrationTokens(ctx); list[0].UsesLeft != 0 {
		t.Errorf("uses left: %+v", list[0])
	}
	if err := db.DeleteRegistrationToken(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRegistrationToken(ctx, "t1"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}

	c := authority.Client{ID: "reg-1", Name: "Agent", Scopes: []string{}, Audience: "reg-1", CreatedAt: now,
		RedirectURIs: []string{"http://127.0.0.1/cb"}, PostLogoutRedirectURIs: []string{}, GrantTypes: []string{"authorization_code"},
		Public: true, RegisteredAt: now, RegistrationTokenHash: "rh"}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClientByID(ctx, "reg-1")
	if err != nil || !got.Registered() || !got.RegisteredAt.Equal(now) || got.RegistrationTokenHash != "rh" {
		t.Errorf("registered client: %+v %v", got, err)
	}
	c.ID, c.RegisteredAt, c.RegistrationTokenHash = "admin-made", time.Time{}, ""
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ClientByID(ctx, "admin-made"); err != nil || got.Registered() || got.RegistrationTokenHash != "" {
		t.Errorf("client made by an administrator: %+v %v", got, err)
	}
}
