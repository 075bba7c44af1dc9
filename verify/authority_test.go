package verify_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeAuthority is a Sigil authority in miniature: it serves discovery and
// a JWKS (with Cache-Control max-age, ETag and 304) on 127.0.0.1 and signs
// tokens with the keys it publishes.
type fakeAuthority struct {
	tb     testing.TB
	srv    *httptest.Server
	issuer string

	mu              sync.Mutex
	published       []testKey
	maxAge          int
	discoveryIssuer string        // the issuer discovery names, if not the real one
	hang            chan struct{} // while non-nil, JWKS requests block until it is closed

	down         atomic.Bool  // while true, JWKS requests answer 503
	jwksRequests atomic.Int64 // every JWKS request
	notModified  atomic.Int64 // JWKS requests answered 304
}

// testKey is a signing key of the fake authority.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func newAuthority(tb testing.TB) *fakeAuthority {
	tb.Helper()
	a := &fakeAuthority{tb: tb, maxAge: 300}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", a.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks.json", a.serveJWKS)
	a.srv = httptest.NewServer(mux)
	a.issuer = a.srv.URL
	tb.Cleanup(a.srv.Close)
	tb.Cleanup(a.release) // runs first, so that Close does not wait on hung requests
	return a
}

func (a *fakeAuthority) jwksURL() string { return a.issuer + "/.well-known/jwks.json" }

func (a *fakeAuthority) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	issuer := a.issuer
	if a.discoveryIssuer != "" {
		issuer = a.discoveryIssuer
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              a.jwksURL(),
		"id_token_signing_alg_values_supported": []string{"RS256", "EdDSA", "ES256"},
	})
}

func (a *fakeAuthority) serveJWKS(w http.ResponseWriter, r *http.Request) {
	a.jwksRequests.Add(1)
	if a.down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	a.mu.Lock()
	hang := a.hang
	set := jose.JSONWebKeySet{}
	for _, k := range a.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	maxAge := a.maxAge
	a.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}

	body, err := json.Marshal(set)
	if err != nil {
		a.tb.Errorf("marshal JWKS: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", maxAge))
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		a.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// setMaxAge sets the Cache-Control max-age of later JWKS answers.
func (a *fakeAuthority) setMaxAge(seconds int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maxAge = seconds
}

// hangJWKS makes later JWKS requests hang until the test ends.
func (a *fakeAuthority) hangJWKS() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hang == nil {
		a.hang = make(chan struct{})
	}
}

func (a *fakeAuthority) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hang != nil {
		close(a.hang)
		a.hang = nil
	}
}

// newKey generates a key for alg and publishes it.
func (a *fakeAuthority) newKey(alg jose.SignatureAlgorithm) testKey {
	a.tb.Helper()
	k := generateKey(a.tb, alg)
	a.publish(k)
	return k
}

func (a *fakeAuthority) publish(k testKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.published = append(a.published, k)
}

func (a *fakeAuthority) unpublish(kid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, k := range a.published {
		if k.kid == kid {
			a.published = append(a.published[:i], a.published[i+1:]...)
			return
		}
	}
}

// claims returns the claims Sigil puts in a user's access token, issued
// at now for 15 minutes.
func (a *fakeAuthority) claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       a.issuer,
		"sub":       "user-42",
		"aud":       []string{"sigil"},
		"exp":       now.Add(15 * time.Minute).Unix(),
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"jti":       "jti-1",
		"client_id": "web",
		"scope":     "posts:read posts:write",
		"email":     "ada@example.com",
		"roles":     []string{"admin", "editor"},
	}
}

// sign signs claims with k as the authority does.
func (a *fakeAuthority) sign(k testKey, claims any) string {
	a.tb.Helper()
	return signToken(a.tb, k.alg, k.priv, k.kid, "at+jwt", claims)
}

var kidCounter atomic.Int64

func generateKey(tb testing.TB, alg jose.SignatureAlgorithm) testKey {
	tb.Helper()
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("no test keys for %s", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{kid: fmt.Sprintf("key-%d", kidCounter.Add(1)), alg: alg, priv: priv}
}

// signToken signs claims with key under alg, with the given kid and typ
// header parameters left out when empty.
func signToken(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, claims any) string {
	tb.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

// fakeClock is a settable clock for the WithClock option.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer collects log output written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
