package verify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// The Middleware benchmarks run the whole middleware path on a pre-built
// request; the Direct ones do what a service would write by hand with
// go-jose for the same token and key: parse, verify the signature, decode
// the claims (and check none of them). The middleware should keep at least
// nine tenths of the hand-written throughput.

func BenchmarkMiddlewareRS256(b *testing.B) { benchmarkMiddleware(b, jose.RS256) }
func BenchmarkMiddlewareEdDSA(b *testing.B) { benchmarkMiddleware(b, jose.EdDSA) }
func BenchmarkDirectRS256(b *testing.B)     { benchmarkDirect(b, jose.RS256) }
func BenchmarkDirectEdDSA(b *testing.B)     { benchmarkDirect(b, jose.EdDSA) }

// benchmarkToken returns a fake authority publishing one key for alg, and a
// token under that key.
func benchmarkToken(b *testing.B, alg jose.SignatureAlgorithm) (*fakeAuthority, testKey, string) {
	a := newAuthority(b)
	k := a.newKey(alg)
	return a, k, a.sign(k, a.claims(newClock().Now()))
}

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware rather than a recorder.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header       { return w.h }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}

func benchmarkMiddleware(b *testing.B, alg jose.SignatureAlgorithm) {
	a, _, token := benchmarkToken(b, alg)
	v := newVerifier(b, a, newClock())
	reached := false
	h := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	r := httptest.NewRequest(http.MethodGet, "/feed/posts", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := nopWriter{h: http.Header{}}

	b.ReportAllocs()
	for b.Loop() {
		reached = false
		h.ServeHTTP(w, r)
		if !reached {
			b.Fatal("the middleware rejected the token")
		}
	}
}

// handWrittenClaims is the claims struct a service would declare itself.
type handWrittenClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	Expiry    int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	Email     string   `json:"email"`
	Roles     []string `json:"roles"`
}

func benchmarkDirect(b *testing.B, alg jose.SignatureAlgorithm) {
	_, k, token := benchmarkToken(b, alg)
	pub := k.priv.Public()
	algs := []jose.SignatureAlgorithm{alg}

	b.ReportAllocs()
	for b.Loop() {
		jws, err := jose.ParseSignedCompact(token, algs)
		if err != nil {
			b.Fatal(err)
		}
		payload, err := jws.Verify(pub)
		if err != nil {
			b.Fatal(err)
		}
		var c handWrittenClaims
		if err := json.Unmarshal(payload, &c); err != nil {
			b.Fatal(err)
		}
	}
}
