package verify_test

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"slices"
	"strings"
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
