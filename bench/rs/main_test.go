package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// issuer is a fake Sigil: discovery and a JWKS with one key per alg.
type issuer struct {
	srv  *httptest.Server
	keys map[jose.SignatureAlgorithm]crypto.Signer
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{keys: map[jose.SignatureAlgorithm]crypto.Signer{jose.RS256: rsaKey, jose.ES256: ecKey, jose.EdDSA: edKey}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		var set jose.JSONWebKeySet
		for alg, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Public(), KeyID: string(alg), Algorithm: string(alg), Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// token signs claims as Sigil does (typ at+jwt, kid), with key under alg
// and the kid of alg's published key.
func (is *issuer) token(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", string(alg)))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (is *issuer) claims() map[string]any {
	now := time.Now()
	return map[string]any{"iss": is.srv.URL, "sub": "user-1", "aud": []string{"sigil"},
		"exp": now.Add(10 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "scope": "a b"}
}

// Every mode lets the same good tokens through and refuses the same bad
// ones, so the benchmark compares verifiers doing the same checks.
func TestEveryModeChecksTheSameThings(t *testing.T) {
	is := newIssuer(t)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	with := func(k string, v any) map[string]any { c := is.claims(); c[k] = v; return c }
	for _, mode := range []string{"verify", "gojose", "gooidc"} {
		protect, err := newProtector(t.Context(), mode, is.srv.URL, "sigil")
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		h := protect(http.HandlerFunc(protected))
		serve := func(token string) (int, string) {
			r := httptest.NewRequest(http.MethodGet, "/protected", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code, w.Body.String()
		}
		for alg, key := range is.keys {
			if code, body := serve(is.token(t, alg, key, is.claims())); code != http.StatusOK || !strings.Contains(body, `"user-1"`) {
				t.Errorf("%s %s: good token: %d %s", mode, alg, code, body)
			}
		}
		bad := map[string]string{
			"wrong audience": is.token(t, jose.RS256, is.keys[jose.RS256], with("aud", []string{"other"})),
			"wrong issuer":   is.token(t, jose.RS256, is.keys[jose.RS256], with("iss", "http://elsewhere")),
			"expired":        is.token(t, jose.ES256, is.keys[jose.ES256], with("exp", time.Now().Add(-time.Hour).Unix())),
			"wrong key":      is.token(t, jose.EdDSA, stranger, is.claims()),
			"not a token":    "abc.def.ghi",
		}
		for name, token := range bad {
			if code, _ := serve(token); code != http.StatusUnauthorized {
				t.Errorf("%s: %s: status %d, want 401", mode, name, code)
			}
		}
	}
	if _, err := newProtector(t.Context(), "other", is.srv.URL, "sigil"); err == nil {
		t.Error("an unknown mode is accepted")
	}
}
