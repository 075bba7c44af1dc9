package verify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

// exampleAuthority starts a stand-in for a Sigil authority that publishes
// one Ed25519 key, and returns it with a function that signs access tokens
// under that key.
func exampleAuthority() (*httptest.Server, func(sub string, roles ...string) string) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	jwk := jose.JSONWebKey{Key: key, KeyID: "2030-01", Algorithm: string(jose.EdDSA), Use: "sig"}

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":   srv.URL,
			"jwks_uri": srv.URL + "/.well-known/jwks.json",
		})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	})

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jwk},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		log.Fatal(err)
	}
	sign := func(sub string, roles ...string) string {
		now := time.Now()
		payload, err := json.Marshal(map[string]any{
			"iss": srv.URL, "sub": sub, "aud": "feed", "client_id": "web",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
			"jti": "example", "scope": "posts:read", "roles": roles,
		})
		if err != nil {
			log.Fatal(err)
		}
		jws, err := signer.Sign(payload)
		if err != nil {
			log.Fatal(err)
		}
		token, err := jws.CompactSerialize()
		if err != nil {
			log.Fatal(err)
		}
		return token
	}
	return srv, sign
}

func ExampleVerifier_Middleware() {
	authority, sign := exampleAuthority()
	defer authority.Close()

	v, err := verify.New(context.Background(), authority.URL,
		verify.WithAudience("feed"), verify.WithRealm("feed"))
	if err != nil {
		log.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(hello))
	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(hello)))

	for _, tc := range []struct{ path, token string }{
		{"/hello", sign("ada")},
		{"/hello", ""},
		{"/admin", sign("ada")},
		{"/admin", sign("grace", "admin")},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.token != "" {
			r.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(tc.path, w.Code, w.Body)
		} else {
			fmt.Println(tc.path, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// /hello 200 hello ada
	// /hello 401 Bearer realm="feed"
	// /admin 403 Bearer error="insufficient_scope", error_description="the token lacks the role admin"
	// /admin 200 hello grace
}

func ExampleVerifier_Verify() {
	authority, sign := exampleAuthority()
	defer authority.Close()

	v, err := verify.New(context.Background(), authority.URL, verify.WithAudience("feed"))
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(context.Background(), sign("ada"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Audience, claims.HasScope("posts:read"))

	_, err = v.Verify(context.Background(), "not.a.token")
	fmt.Println(err)
	// Output:
	// ada [feed] true
	// verify: malformed token header
}
