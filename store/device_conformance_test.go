package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
)

// testDeviceAuthorizations: device authorizations are found by each of
// their keys, a user code hash is unique, a decision is recorded once and
// only while pending and unexpired, and of concurrent redemptions exactly
// one wins; on every store.
func testDeviceAuthorizations(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	d := oidc.DeviceAuthorization{ID: "dev1", DeviceCodeHash: "dch1", UserCodeHash: "uch1", ClientID: "cli", Scope: "openid email",
		Resource: "https://api.example.com/", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), Status: oidc.DevicePending}
	if err := db.CreateDeviceAuthorization(ctx, d); err != nil {
		t.Fatal(err)
	}
	again := d
	again.ID, again.DeviceCodeHash = "dev2", "dch2"
	if err := db.CreateDeviceAuthorization(ctx, again); !errors.Is(err, authority.ErrConflict) {
		t.Errorf("a taken user code hash: %v", err)
	}
	for what, get := range map[string]func() (oidc.DeviceAuthorization, error){
		"by user code":   func() (oidc.DeviceAuthorization, error) { return db.DeviceAuthorizationByUserCode(ctx, "uch1") },
		"by device code": func() (oidc.DeviceAuthorization, error) { return db.DeviceAuthorizationByDeviceCode(ctx, "dch1") },
		"by id":          func() (oidc.DeviceAuthorization, error) { return db.DeviceAuthorizationByID(ctx, "dev1") },
	} {
		got, err := get()
		if err != nil || got.ID != "dev1" || got.ClientID != "cli" || got.Scope != d.Scope || got.Resource != d.Resource ||
			!got.ExpiresAt.Equal(d.ExpiresAt) || got.Status != oidc.DevicePending || !got.UsedAt.IsZero() || !got.DecidedAt.IsZero() {
			t.Errorf("%s: %+v %v", what, got, err)
		}
	}
	if _, err := db.DeviceAuthorizationByDeviceCode(ctx, "none"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("unknown device code: %v", err)
	}
	if err := db.RedeemDeviceAuthorization(ctx, "dch1", now); !errors.Is(err, authority.ErrConflict) {
		t.Errorf("redeeming a pending authorization: %v", err)
	}
	dec := oidc.DeviceDecision{Status: oidc.DeviceApproved, UserID: "u1", SessionID: "s1", AuthTime: now.Add(-time.Minute), AMR: []string{"pwd", "otp", "mfa"}, At: now}
	if err := db.DecideDeviceAuthorization(ctx, "dev1", oidc.DeviceDecision{Status: oidc.DeviceApproved, At: now.Add(11 * time.Minute)}); !errors.Is(err, authority.ErrConflict) {
		t.Errorf("deciding after expiry: %v", err)
	}
	if err := db.DecideDeviceAuthorization(ctx, "dev1", dec); err != nil {
		t.Fatal(err)
	}
	if err := db.DecideDeviceAuthorization(ctx, "dev1", oidc.DeviceDecision{Status: oidc.DeviceDenied, At: now}); !errors.Is(err, authority.ErrConflict) {
		t.Errorf("deciding twice: %v", err)
	}
	got, _ := db.DeviceAuthorizationByID(ctx, "dev1")
	if got.Status != oidc.DeviceApproved || got.UserID != "u1" || got.SessionID != "s1" || !got.AuthTime.Equal(dec.AuthTime) ||
		!slices.Equal(got.AMR, dec.AMR) || !got.DecidedAt.Equal(now) {
		t.Errorf("after the decision: %+v", got)
	}
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.RedeemDeviceAuthorization(ctx, "dch1", now)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if !errors.Is(err, authority.ErrConflict) {
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent redemptions won, want 1", wins)
	}
	if got, _ := db.DeviceAuthorizationByDeviceCode(ctx, "dch1"); !got.UsedAt.Equal(now) {
		t.Errorf("used at %v", got.UsedAt)
	}
}
