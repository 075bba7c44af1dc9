package verify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

// The authority's max-age governs how soon a key it stopped publishing
// stops verifying, down to a floor of a few seconds (5 s): with
// max-age=2, a token under a revoked key is refused 6 s after the
// revocation (it was accepted for 30 s when the floor was 30 s).
func TestAuthorityMaxAgeGovernsDownToTheFloor(t *testing.T) {
	a := newAuthority(t)
	a.setMaxAge(2)
	old := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)
	if _, err := v.Verify(t.Context(), a.sign(old, a.claims(clock.Now()))); err != nil {
		t.Fatalf("token before the revocation: %v", err)
	}
	a.newKey(jose.EdDSA)
	a.unpublish(old.kid)
	clock.Advance(6 * time.Second)
	if _, err := v.Verify(t.Context(), a.sign(old, a.claims(clock.Now()))); !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("token under a key revoked 6 s ago with max-age=2: %v, want ErrUnknownKey", err)
	}
	if verify.DefaultMinRefreshInterval > 5*time.Second {
		t.Fatalf("DefaultMinRefreshInterval = %s, want at most 5 s", verify.DefaultMinRefreshInterval)
	}
}

// Below the floor, max-age does not make every verification a request.
func TestRefreshFloorBoundsRequests(t *testing.T) {
	a := newAuthority(t)
	a.setMaxAge(0)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)
	before := a.jwksRequests.Load()
	for range 10 {
		if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
			t.Fatal(err)
		}
		clock.Advance(100 * time.Millisecond)
	}
	if n := a.jwksRequests.Load() - before; n != 0 {
		t.Fatalf("%d JWKS requests within the floor, want 0", n)
	}
}

// While the authority cannot be reached, cached keys keep verifying, but
// only up to the maximum key set age since the last successful fetch;
// after that tokens are refused, and the first successful refresh brings
// them back.
func TestCachedKeysExpireWhileTheAuthorityIsUnreachable(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock, verify.WithMaxKeySetAge(2*time.Hour))
	a.down.Store(true)
	clock.Advance(90 * time.Minute) // past the default 1 h maximum refresh
	if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
		t.Fatalf("cached key within its maximum age, authority down: %v", err)
	}
	clock.Advance(31 * time.Minute)
	if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("cached key past its maximum age: %v, want ErrUnknownKey", err)
	}
	a.down.Store(false)
	clock.Advance(verify.DefaultMinRefreshInterval) // the retry wait after a failure
	if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
		t.Fatalf("after the authority answers again: %v", err)
	}

	// The default maximum age is a day.
	if verify.DefaultMaxKeySetAge != 24*time.Hour {
		t.Fatalf("DefaultMaxKeySetAge = %s", verify.DefaultMaxKeySetAge)
	}
	if _, err := verify.NewFromJWKS(a.jwksURL(), a.issuer, verify.WithAudience("sigil"), verify.WithMaxKeySetAge(time.Minute)); err == nil {
		t.Fatal("a maximum key set age below the maximum refresh interval was accepted")
	}
}
