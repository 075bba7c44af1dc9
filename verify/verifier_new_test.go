package verify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

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
