package verify_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

func TestNewFromJWKSFetchesOnFirstUse(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.RS256)
	clock := newClock()
	v, err := verify.NewFromJWKS(a.jwksURL(), a.issuer, verify.WithAudience("sigil"), verify.WithClock(clock.Now), verify.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if n := a.jwksRequests.Load(); n != 0 {
		t.Fatalf("NewFromJWKS made %d JWKS requests, want 0", n)
	}
	if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := a.jwksRequests.Load(); n != 1 {
		t.Errorf("JWKS requests = %d, want 1", n)
	}
}

func TestNewKeyVerifiesAfterUnknownKidRefresh(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.RS256)
	clock := newClock()
	v := newVerifier(t, a, clock)
	before := a.jwksRequests.Load()

	rotated := a.newKey(jose.EdDSA)
	if _, err := v.Verify(t.Context(), a.sign(rotated, a.claims(clock.Now()))); err != nil {
		t.Fatalf("token under the new key: %v", err)
	}
	if n := a.jwksRequests.Load() - before; n != 1 {
		t.Errorf("JWKS requests after construction = %d, want 1", n)
	}
}

func TestRemovedKeyStopsVerifyingWhenCacheExpires(t *testing.T) {
	a := newAuthority(t)
	a.setMaxAge(300)
	old := a.newKey(jose.RS256)
	a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)

	a.unpublish(old.kid)
	clock.Advance(299 * time.Second)
	if _, err := v.Verify(t.Context(), a.sign(old, a.claims(clock.Now()))); err != nil {
		t.Fatalf("removed key before the cache expired: %v", err)
	}
	clock.Advance(2 * time.Second)
	_, err := v.Verify(t.Context(), a.sign(old, a.claims(clock.Now())))
	if !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("removed key after the cache expired: error = %v, want ErrUnknownKey", err)
	}
}

func TestUnknownKidBurstMakesOneRequest(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.RS256)
	v := newVerifier(t, a, newClock())
	before := a.jwksRequests.Load()

	rotated := a.newKey(jose.EdDSA)
	token := a.sign(rotated, a.claims(newClock().Now()))
	const callers = 1000
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		failed = make(chan error, callers)
	)
	for range callers {
		wg.Go(func() {
			<-start
			if _, err := v.Verify(t.Context(), token); err != nil {
				failed <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(failed)
	for err := range failed {
		t.Errorf("Verify: %v", err)
	}
	if n := a.jwksRequests.Load() - before; n != 1 {
		t.Errorf("JWKS requests for %d concurrent verifications = %d, want 1", callers, n)
	}
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock, verify.WithUnknownKidInterval(10*time.Second))
	before := a.jwksRequests.Load()
	requests := func() int64 { return a.jwksRequests.Load() - before }
	token := signToken(t, k.alg, k.priv, "made-up", "at+jwt", a.claims(clock.Now()))

	for range 5 {
		if _, err := v.Verify(t.Context(), token); !errors.Is(err, verify.ErrUnknownKey) {
			t.Fatalf("Verify error = %v, want ErrUnknownKey", err)
		}
	}
	if n := requests(); n != 1 {
		t.Fatalf("JWKS requests for 5 unknown kids within the interval = %d, want 1", n)
	}
	clock.Advance(9 * time.Second)
	_, _ = v.Verify(t.Context(), token)
	if n := requests(); n != 1 {
		t.Fatalf("JWKS requests 9s later = %d, want 1", n)
	}
	clock.Advance(time.Second)
	_, _ = v.Verify(t.Context(), token)
	if n := requests(); n != 2 {
		t.Fatalf("JWKS requests once the interval passed = %d, want 2", n)
	}
}

func TestKeySetRevalidatedWithETag(t *testing.T) {
	a := newAuthority(t)
	a.setMaxAge(60)
	k := a.newKey(jose.ES256)
	clock := newClock()
	v := newVerifier(t, a, clock)
	before := a.jwksRequests.Load()

	clock.Advance(61 * time.Second)
	for range 3 {
		if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
			t.Fatalf("Verify after 304: %v", err)
		}
	}
	if n, m := a.jwksRequests.Load()-before, a.notModified.Load(); n != 1 || m != 1 {
		t.Fatalf("after expiry: %d JWKS requests, %d answered 304; want 1 and 1", n, m)
	}
	// The 304 extended the cache by another max-age.
	clock.Advance(59 * time.Second)
	if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
		t.Fatal(err)
	}
	if n := a.jwksRequests.Load() - before; n != 1 {
		t.Errorf("JWKS requests within the extended lifetime = %d, want 1", n)
	}
}

func TestCacheLifetimeIsClampedToRefreshBounds(t *testing.T) {
	tests := []struct {
		name              string
		maxAge            int
		stillFresh, stale time.Duration
	}{
		{"max-age below the minimum", 0, 29 * time.Second, 31 * time.Second},
		{"max-age above the maximum", 86400, 59 * time.Minute, 61 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthority(t)
			a.setMaxAge(tt.maxAge)
			k := a.newKey(jose.EdDSA)
			clock := newClock()
			v := newVerifier(t, a, clock,
				verify.WithMinRefreshInterval(30*time.Second), verify.WithMaxRefreshInterval(time.Hour))
			start := clock.Now()
			before := a.jwksRequests.Load()
			verifyAt := func(at time.Duration) {
				t.Helper()
				clock.Advance(start.Add(at).Sub(clock.Now()))
				if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
					t.Fatal(err)
				}
			}
			verifyAt(tt.stillFresh)
			if n := a.jwksRequests.Load() - before; n != 0 {
				t.Errorf("JWKS requests before the clamped lifetime ran out = %d, want 0", n)
			}
			verifyAt(tt.stale)
			if n := a.jwksRequests.Load() - before; n != 1 {
				t.Errorf("JWKS requests after the clamped lifetime ran out = %d, want 1", n)
			}
		})
	}
}

func TestCachedKeysVerifyWhileAuthorityIsDown(t *testing.T) {
	a := newAuthority(t)
	a.setMaxAge(60)
	k := a.newKey(jose.RS256)
	clock := newClock()
	var logs logBuffer
	v := newVerifier(t, a, clock, verify.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), verify.WithMinRefreshInterval(30*time.Second))
	a.srv.Close()

	// 60 requests over two minutes: the cache runs out at 60s, and the
	// failed refreshes are retried at 60s and 100s (after a 30s minimum
	// refresh interval), so the failure is logged twice, not per request.
	for range 6 {
		clock.Advance(20 * time.Second)
		for range 10 {
			if _, err := v.Verify(t.Context(), a.sign(k, a.claims(clock.Now()))); err != nil {
				t.Fatalf("cached key with the authority down: %v", err)
			}
		}
	}

	unknown := signToken(t, k.alg, k.priv, "made-up", "at+jwt", a.claims(clock.Now()))
	start := time.Now()
	if _, err := v.Verify(t.Context(), unknown); !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("unknown kid with the authority down: error = %v, want ErrUnknownKey", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("unknown kid took %v to reject", d)
	}
	if n := strings.Count(logs.String(), "refresh failed"); n != 2 {
		t.Errorf("refresh failure logged %d times, want 2:\n%s", n, logs.String())
	}
}

func TestHungAuthorityDoesNotHoldRequests(t *testing.T) {
	a := newAuthority(t)
	a.setMaxAge(60)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)
	a.hangJWKS()
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	serve := func(token string) (int, time.Duration) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		return w.Code, time.Since(start)
	}

	unknown := signToken(t, k.alg, k.priv, "made-up", "at+jwt", a.claims(clock.Now()))
	if code, d := serve(unknown); code != http.StatusUnauthorized || d > 2*time.Second {
		t.Errorf("unknown kid with a hung authority: %d after %v, want 401 within 2s", code, d)
	}
	if code, d := serve(a.sign(k, a.claims(clock.Now()))); code != http.StatusNoContent || d > 2*time.Second {
		t.Errorf("cached key with a hung authority: %d after %v, want 204 within 2s", code, d)
	}
	clock.Advance(61 * time.Second)
	if code, d := serve(a.sign(k, a.claims(clock.Now()))); code != http.StatusNoContent || d > 2*time.Second {
		t.Errorf("expired cache with a hung authority: %d after %v, want 204 within 2s", code, d)
	}
}
