package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

var quiet = slog.New(slog.DiscardHandler)

// newVerifier builds a Verifier for a through discovery, on clock, expecting
// the audience "sigil".
func newVerifier(t testing.TB, a *fakeAuthority, clock *fakeClock, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	opts = append([]verify.Option{
		verify.WithClock(clock.Now),
		verify.WithAudience("sigil"),
		verify.WithLogger(quiet),
	}, opts...)
	v, err := verify.New(t.Context(), a.issuer, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestVerifyAcceptsValidTokens(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.EdDSA, jose.ES256} {
		t.Run(string(alg), func(t *testing.T) {
			a := newAuthority(t)
			k := a.newKey(alg)
			clock := newClock()
			v := newVerifier(t, a, clock)

			now := clock.Now()
			c, err := v.Verify(t.Context(), a.sign(k, a.claims(now)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := &verify.Claims{
				Subject:   "user-42",
				Issuer:    a.issuer,
				Audience:  []string{"sigil"},
				Expiry:    now.Add(15 * time.Minute),
				IssuedAt:  now,
				NotBefore: now,
				ID:        "jti-1",
				ClientID:  "web",
				Scope:     "posts:read posts:write",
				Email:     "ada@example.com",
				Roles:     []string{"admin", "editor"},
			}
			if !claimsEqual(c, want) {
				t.Errorf("claims = %+v, want %+v", c, want)
			}
			if !c.HasScope("posts:write") || c.HasScope("posts") || c.HasScope("") {
				t.Errorf("HasScope is wrong for scope %q", c.Scope)
			}
			if !c.HasRole("admin") || c.HasRole("root") {
				t.Errorf("HasRole is wrong for roles %q", c.Roles)
			}
		})
	}
}

func claimsEqual(a, b *verify.Claims) bool {
	return a.Subject == b.Subject && a.Issuer == b.Issuer &&
		slices.Equal(a.Audience, b.Audience) &&
		a.Expiry.Equal(b.Expiry) && a.IssuedAt.Equal(b.IssuedAt) && a.NotBefore.Equal(b.NotBefore) &&
		a.ID == b.ID && a.ClientID == b.ClientID && a.Scope == b.Scope && a.Email == b.Email &&
		slices.Equal(a.Roles, b.Roles)
}

func TestVerifyAcceptsAudienceAsStringOrArray(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock, verify.WithAudience("feed", "sigil"))

	for _, aud := range []any{"sigil", []string{"other", "sigil"}, []string{"feed"}} {
		claims := a.claims(clock.Now())
		claims["aud"] = aud
		c, err := v.Verify(t.Context(), a.sign(k, claims))
		if err != nil {
			t.Errorf("aud %v: %v", aud, err)
			continue
		}
		if len(c.Audience) == 0 {
			t.Errorf("aud %v: claims have no audience", aud)
		}
	}
}

func TestVerifyToleratesClockSkewWithinLeeway(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)

	now := clock.Now()
	claims := a.claims(now)
	claims["exp"] = now.Add(-50 * time.Second).Unix()
	claims["nbf"] = now.Add(50 * time.Second).Unix()
	claims["iat"] = now.Add(50 * time.Second).Unix()
	if _, err := v.Verify(t.Context(), a.sign(k, claims)); err != nil {
		t.Errorf("token 50s off: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	a := newAuthority(t)
	rsaKey := a.newKey(jose.RS256)
	edKey := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)
	now := clock.Now()

	with := func(name string, value any) map[string]any {
		c := a.claims(now)
		if value == nil {
			delete(c, name)
		} else {
			c[name] = value
		}
		return c
	}
	b64 := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name   string
		token  func() string
		want   error
		reason string
	}{
		{"garbage", func() string { return "not-a-token" }, verify.ErrInvalidToken, "malformed token"},
		{"two parts", func() string { return b64([]byte(`{"alg":"RS256","kid":"x","typ":"at+jwt"}`)) + ".e30" }, verify.ErrInvalidToken, "malformed token"},
		{"expired beyond leeway", func() string {
			return a.sign(rsaKey, with("exp", now.Add(-61*time.Second).Unix()))
		}, verify.ErrExpired, "token expired"},
		{"nbf in the future", func() string {
			return a.sign(rsaKey, with("nbf", now.Add(2*time.Minute).Unix()))
		}, verify.ErrNotYetValid, "not valid yet"},
		{"no exp", func() string { return a.sign(rsaKey, with("exp", nil)) }, verify.ErrInvalidToken, "no expiry"},
		{"no sub", func() string { return a.sign(rsaKey, with("sub", nil)) }, verify.ErrInvalidToken, "no subject"},
		{"exp as a string", func() string { return a.sign(rsaKey, with("exp", "tomorrow")) }, verify.ErrInvalidToken, "malformed claims"},
		{"wrong audience", func() string { return a.sign(rsaKey, with("aud", "billing")) }, verify.ErrInvalidToken, "wrong audience"},
		{"no audience", func() string { return a.sign(rsaKey, with("aud", nil)) }, verify.ErrInvalidToken, "wrong audience"},
		{"wrong issuer", func() string { return a.sign(rsaKey, with("iss", "https://evil.example")) }, verify.ErrInvalidToken, "wrong issuer"},
		{"tampered payload", func() string {
			parts := strings.Split(a.sign(edKey, a.claims(now)), ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			payload = []byte(strings.Replace(string(payload), "user-42", "user-43", 1))
			parts[1] = b64(payload)
			return strings.Join(parts, ".")
		}, verify.ErrInvalidToken, "bad signature"},
		{"alg none", func() string {
			hdr := `{"alg":"none","kid":"` + rsaKey.kid + `","typ":"at+jwt"}`
			payload, _ := json.Marshal(a.claims(now))
			return b64([]byte(hdr)) + "." + b64(payload) + "."
		}, verify.ErrInvalidToken, "algorithm not allowed"},
		{"HS256 keyed with the public key", func() string {
			der, err := x509.MarshalPKIXPublicKey(rsaKey.priv.Public().(*rsa.PublicKey))
			if err != nil {
				t.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return signToken(t, jose.HS256, secret, rsaKey.kid, "at+jwt", a.claims(now))
		}, verify.ErrInvalidToken, "algorithm not allowed"},
		{"foreign key claiming a real kid", func() string {
			foreign := generateKey(t, jose.RS256)
			return signToken(t, jose.RS256, foreign.priv, rsaKey.kid, "at+jwt", a.claims(now))
		}, verify.ErrInvalidToken, "bad signature"},
		{"no kid", func() string {
			return signToken(t, jose.RS256, rsaKey.priv, "", "at+jwt", a.claims(now))
		}, verify.ErrInvalidToken, "no kid"},
		{"unknown kid", func() string {
			return signToken(t, jose.RS256, rsaKey.priv, "never-published", "at+jwt", a.claims(now))
		}, verify.ErrUnknownKey, "unknown signing key"},
		{"typ JWT", func() string {
			return signToken(t, jose.RS256, rsaKey.priv, rsaKey.kid, "JWT", a.claims(now))
		}, verify.ErrInvalidToken, "not at+jwt"},
		{"no typ", func() string {
			return signToken(t, jose.RS256, rsaKey.priv, rsaKey.kid, "", a.claims(now))
		}, verify.ErrInvalidToken, "not at+jwt"},
		{"header alg differs from the key's", func() string {
			return signToken(t, jose.PS256, rsaKey.priv, rsaKey.kid, "at+jwt", a.claims(now))
		}, verify.ErrInvalidToken, "does not match the key"},
		{"typ spelled twice, read differently by case", func() string {
			hdr := `{"alg":"EdDSA","kid":"` + edKey.kid + `","typ":"JWT","Typ":"at+jwt"}`
			payload, _ := json.Marshal(a.claims(now))
			input := b64([]byte(hdr)) + "." + b64(payload)
			return input + "." + b64(ed25519.Sign(edKey.priv.(ed25519.PrivateKey), []byte(input)))
		}, verify.ErrInvalidToken, "ambiguous token header"},
		{"EdDSA token naming an RSA kid", func() string {
			return signToken(t, jose.EdDSA, edKey.priv, rsaKey.kid, "at+jwt", a.claims(now))
		}, verify.ErrInvalidToken, "does not match the key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token()
			c, err := v.Verify(t.Context(), token)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", c)
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, verify.ErrInvalidToken) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Verify error = %v, want %v for %q", err, tt.want, tt.reason)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
}

func TestVerifyAcceptsMediaTypeSpellingOfTyp(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.ES256)
	clock := newClock()
	v := newVerifier(t, a, clock)

	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"} {
		token := signToken(t, k.alg, k.priv, k.kid, typ, a.claims(clock.Now()))
		if _, err := v.Verify(t.Context(), token); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

func TestVerifyWithoutTokenIsMissingToken(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.EdDSA)
	v := newVerifier(t, a, newClock())
	if _, err := v.Verify(t.Context(), ""); !errors.Is(err, verify.ErrMissingToken) {
		t.Errorf("Verify(\"\") error = %v, want ErrMissingToken", err)
	}
}

func TestVerifyRequiresConfiguredScopesAndRoles(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	token := a.sign(k, a.claims(clock.Now()))

	tests := []struct {
		name string
		opt  verify.Option
		ok   bool
	}{
		{"scopes present", verify.WithRequiredScopes("posts:read", "posts:write"), true},
		{"scope missing", verify.WithRequiredScopes("posts:read", "posts:delete"), false},
		{"role present", verify.WithRequiredRoles("editor"), true},
		{"role missing", verify.WithRequiredRoles("owner"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, a, clock, tt.opt)
			_, err := v.Verify(t.Context(), token)
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && (!errors.Is(err, verify.ErrInsufficientScope) || errors.Is(err, verify.ErrInvalidToken)) {
				t.Fatalf("Verify error = %v, want only ErrInsufficientScope", err)
			}
		})
	}
}

func TestNewRejectsDiscoveryForAnotherIssuer(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.EdDSA)
	a.mu.Lock()
	a.discoveryIssuer = "https://elsewhere.example"
	a.mu.Unlock()
	if _, err := verify.New(t.Context(), a.issuer, verify.WithAudience("sigil"), verify.WithLogger(quiet)); err == nil {
		t.Fatal("New accepted a discovery document naming another issuer")
	}
}

func TestNewFailsWhenAuthorityIsDown(t *testing.T) {
	a := newAuthority(t)
	a.srv.Close()
	if _, err := verify.New(t.Context(), a.issuer, verify.WithAudience("sigil"), verify.WithLogger(quiet)); err == nil {
		t.Fatal("New succeeded without an authority")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]verify.Option{
		"negative leeway":   verify.WithLeeway(-time.Second),
		"zero min interval": verify.WithMinRefreshInterval(0),
		"max below min":     verify.WithMaxRefreshInterval(time.Second),
		"nil client":        verify.WithHTTPClient(nil),
	} {
		if _, err := verify.NewFromJWKS("https://sigil.example/.well-known/jwks.json", "https://sigil.example", verify.WithAudience("sigil"), opt); err == nil {
			t.Errorf("%s: NewFromJWKS accepted it", name)
		}
	}
	if _, err := verify.NewFromJWKS("/relative/jwks.json", "https://sigil.example", verify.WithAudience("sigil")); err == nil {
		t.Error("NewFromJWKS accepted a relative JWKS URL")
	}
}

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

// A Verifier must be told which audience to accept: New and NewFromJWKS
// fail without WithAudience, and WithAnyAudience is the explicit way to
// accept tokens minted for any service.
func TestAudienceIsRequired(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	for name, opts := range map[string][]verify.Option{
		"nothing":        nil,
		"empty audience": {verify.WithAudience()},
	} {
		if _, err := verify.New(t.Context(), a.issuer, append(opts, verify.WithLogger(quiet))...); err == nil || !strings.Contains(err.Error(), "WithAudience") {
			t.Errorf("New with %s: %v, want an error naming WithAudience", name, err)
		}
		if _, err := verify.NewFromJWKS(a.jwksURL(), a.issuer, append(opts, verify.WithLogger(quiet))...); err == nil {
			t.Errorf("NewFromJWKS with %s succeeded", name)
		}
	}
	v := newVerifier(t, a, clock, verify.WithAnyAudience())
	claims := a.claims(clock.Now())
	claims["aud"] = "billing"
	if _, err := v.Verify(t.Context(), a.sign(k, claims)); err != nil {
		t.Fatalf("WithAnyAudience refused a token for another service: %v", err)
	}
	strict := newVerifier(t, a, clock)
	if _, err := strict.Verify(t.Context(), a.sign(k, claims)); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("WithAudience(sigil) accepted a token for billing: %v", err)
	}
}
