package main

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/store/storetest"
)

// verifyWithJWKS checks a token the way an outside resource server would:
// with nothing but the JWKS fetched over HTTP and go-jose.
func verifyWithJWKS(t *testing.T, s *server, token string) map[string]any {
	t.Helper()
	st, _, body := s.get(t, "/.well-known/jwks.json")
	if st != http.StatusOK {
		t.Fatalf("jwks: %d", st)
	}
	var set jose.JSONWebKeySet
	decode(t, body, &set)
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.EdDSA, jose.ES256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	hdr := jws.Signatures[0].Header
	ks := set.Key(hdr.KeyID)
	if len(ks) != 1 {
		t.Fatalf("kid %q not in JWKS", hdr.KeyID)
	}
	if ks[0].Algorithm != hdr.Algorithm || ks[0].Use != "sig" || !ks[0].IsPublic() {
		t.Fatalf("JWK %+v does not match header alg %s", ks[0], hdr.Algorithm)
	}
	payload, err := jws.Verify(ks[0])
	if err != nil {
		t.Fatalf("signature does not verify with the published key: %v", err)
	}
	var claims map[string]any
	decode(t, payload, &claims)
	return claims
}

func TestSignupLoginMeAndVerifyFromJWKS(t *testing.T) {
	for _, alg := range []string{"RS256", "EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_SIGNING_ALG": alg}))
				st, h, body := s.postJSON(t, "/auth/signup", map[string]string{"email": "  Ada@Example.COM ", "password": "correct horse battery", "name": "Ada"})
				if st != http.StatusCreated || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
					t.Fatalf("signup: %d %s", st, body)
				}
				var su struct{ UserID string }
				decode(t, body, &su)

				lr := s.login(t, "ada@example.com", "correct horse battery")
				if lr.TokenType != "Bearer" || lr.ExpiresIn != 900 || lr.RefreshToken == "" || lr.UserID != su.UserID {
					t.Fatalf("login answer %+v", lr)
				}

				hdr := tokenHeader(t, lr.Token)
				if hdr["alg"] != alg || hdr["typ"] != "at+jwt" || hdr["kid"] == "" || len(hdr) != 3 {
					t.Fatalf("header = %v", hdr)
				}
				claims := verifyWithJWKS(t, s, lr.Token)
				// sid names the session (refresh-token family) the token
				// belongs to, as GET /auth/sessions lists it; amr says how
				// the user signed in (RFC 8176).
				want := []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "email", "roles", "sid", "amr"}
				if len(claims) != len(want) {
					t.Fatalf("claims = %v, want exactly %v", claims, want)
				}
				for _, k := range want {
					if _, ok := claims[k]; !ok {
						t.Fatalf("claim %s missing from %v", k, claims)
					}
				}
				if claims["iss"] != s.Issuer || claims["sub"] != su.UserID || claims["aud"] != "sigil" || claims["email"] != "ada@example.com" {
					t.Fatalf("claims = %v", claims)
				}
				if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 900 {
					t.Fatalf("exp-iat = %v", exp-iat)
				}

				st, h, body = s.get(t, "/auth/me", bearer(lr.Token)...)
				if st != http.StatusOK || h.Get("Cache-Control") != "no-store" {
					t.Fatalf("me: %d %s", st, body)
				}
				var me struct {
					UserID, Email, Name string
					Roles               []string
				}
				decode(t, body, &me)
				if me.UserID != su.UserID || me.Email != "ada@example.com" || me.Name != "Ada" || me.Roles == nil || len(me.Roles) != 0 {
					t.Fatalf("me = %+v (%s)", me, body)
				}

				st, _, body = s.get(t, "/.well-known/openid-configuration")
				var disc map[string]any
				decode(t, body, &disc)
				if st != 200 || disc["issuer"] != s.Issuer || disc["jwks_uri"] != s.Issuer+"/.well-known/jwks.json" || disc["token_endpoint"] != s.Issuer+"/oauth2/token" {
					t.Fatalf("discovery: %d %v", st, disc)
				}
				for _, f := range []string{"revocation_endpoint", "introspection_endpoint", "grant_types_supported", "token_endpoint_auth_methods_supported", "id_token_signing_alg_values_supported", "response_types_supported", "subject_types_supported"} {
					if _, ok := disc[f]; !ok {
						t.Fatalf("discovery lacks %s", f)
					}
				}
			})
		})
	}
}

func tokenHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	decode(t, b, &h)
	return h
}

func TestJWKSCachingHeaders(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_JWKS_MAX_AGE": "2m", "SIGIL_PUBLISH_AHEAD": "3m"}))
	st, h, body := s.get(t, "/.well-known/jwks.json")
	if st != 200 || h.Get("Cache-Control") != "public, max-age=120" || h.Get("ETag") == "" {
		t.Fatalf("jwks: %d %v", st, h)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	decode(t, body, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("keys = %v", set.Keys)
	}
	for _, f := range []string{"kty", "kid", "use", "alg"} {
		if set.Keys[0][f] == nil {
			t.Fatalf("JWK lacks %s", f)
		}
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := set.Keys[0][private]; ok {
			t.Fatalf("JWKS publishes private member %q", private)
		}
	}
	st, _, body = s.get(t, "/.well-known/jwks.json", "If-None-Match", h.Get("ETag"))
	if st != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("matching If-None-Match: %d %q", st, body)
	}
	if st, _, _ = s.get(t, "/.well-known/jwks.json", "If-None-Match", `"other"`); st != 200 {
		t.Fatalf("other ETag: %d", st)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		if st, _, _ := s.get(t, "/healthz"); st != 200 {
			t.Fatalf("healthz %d", st)
		}
		if st, _, body := s.get(t, "/readyz"); st != 200 {
			t.Fatalf("readyz %d %s", st, body)
		}
	})
}

func TestRestartKeepsKeysAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		s := startServer(t, env)
		lr := s.signupLogin(t, "r@example.com", "password123")
		_, _, jwks1 := s.get(t, "/.well-known/jwks.json")
		s.stop()

		s2 := startServer(t, env)
		_, _, jwks2 := s2.get(t, "/.well-known/jwks.json")
		if !bytes.Equal(jwks1, jwks2) {
			t.Fatalf("JWKS changed across restart:\n%s\n%s", jwks1, jwks2)
		}
		if st, _, body := s2.get(t, "/auth/me", bearer(lr.Token)...); st != 200 {
			t.Fatalf("token from before the restart: %d %s", st, body)
		}
	})
}
