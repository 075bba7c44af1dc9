package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/store/storetest"
)

// fakeOP is an OpenID Provider whose token endpoint answers what the test
// says: an ID token signed by a key its JWKS does not have, one with
// another nonce, or a good one; or one without email, which its
// userinfo endpoint then gives (for another subject, or not at all, as
// the mode says); or a good one whose auth_time is an hour old, or now.
// Without those modes it sends no auth_time, whatever was asked.
type fakeOP struct {
	srv          *httptest.Server
	key, foreign *ecdsa.PrivateKey
	mode         atomic.Value // "good", "bad-signature", "wrong-nonce", "no-email", "userinfo-other-sub", "userinfo-down", "auth-time-old", "auth-time-now"
	mu           sync.Mutex
	nonce        string
}

func newFakeOP(t *testing.T) *fakeOP {
	op := &fakeOP{}
	op.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op.foreign, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op.mode.Store("good")
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := op.srv.URL
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/authorize",
			"token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks", "userinfo_endpoint": iss + "/userinfo", "id_token_signing_alg_values_supported": []string{"ES256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		key, nonce := op.key, op.lastNonce()
		switch op.mode.Load() {
		case "bad-signature":
			key = op.foreign
		case "wrong-nonce":
			nonce = "another nonce"
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		if err != nil {
			t.Error(err)
			return
		}
		c := map[string]any{"iss": op.srv.URL, "sub": "fake-1", "aud": "sigil", "exp": time.Now().Add(time.Hour).Unix(),
			"iat": time.Now().Unix(), "nonce": nonce, "email": "fake@example.com", "email_verified": true}
		switch op.mode.Load() {
		case "auth-time-old":
			c["auth_time"] = time.Now().Add(-time.Hour).Unix()
		case "auth-time-now":
			c["auth_time"] = time.Now().Unix()
		}
		if m := op.mode.Load().(string); m == "no-email" || strings.HasPrefix(m, "userinfo-") {
			delete(c, "email")
			delete(c, "email_verified")
		}
		claims, _ := json.Marshal(c)
		jws, _ := signer.Sign(claims)
		raw, _ := jws.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": raw})
	})
	mux.HandleFunc("/userinfo", func(w http.ResponseWriter, r *http.Request) {
		sub := "fake-1"
		switch {
		case r.Header.Get("Authorization") != "Bearer at":
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		case op.mode.Load() == "userinfo-down":
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case op.mode.Load() == "userinfo-other-sub":
			sub = "fake-2"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sub": sub, "email": "info@example.com", "email_verified": "true", "name": "From Userinfo"})
	})
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

// register makes op the upstream "corp" of fx.
func (op *fakeOP) register(t *testing.T, fx *fedFixture) {
	t.Helper()
	if st, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "corp", "name": "Corp SSO", "type": "oidc",
		"issuer": op.srv.URL, "clientId": "sigil", "clientSecret": "secret"}, bearer(fx.admin)...); st != http.StatusCreated {
		t.Fatalf("create upstream: %d %s", st, body)
	}
}

// startCorp posts "Continue with" corp from the sign-in page in b and
// returns Sigil's redirect to the upstream.
func startCorp(t *testing.T, fx *fedFixture, b *browserless) page {
	t.Helper()
	f := hidden(b.get(fx.iss + "/login"))
	f.Set("upstream", "corp")
	return b.post(fx.iss+"/login/upstream", f)
}

// callbackURL is where op sends the browser back from the redirect p,
// asking nothing; its ID token carries p's nonce.
func (op *fakeOP) callbackURL(fx *fedFixture, p page) string {
	q := p.Location().Query()
	op.mu.Lock()
	op.nonce = q.Get("nonce")
	op.mu.Unlock()
	return fx.iss + "/login/upstream/corp/callback?" + url.Values{"code": {"c"}, "state": {q.Get("state")}}.Encode()
}

func (op *fakeOP) lastNonce() string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.nonce
}

// An ID token that does not verify (a key the upstream's JWKS does not
// have, another nonce) and a sign-in that took too long end on Sigil's
// page with the way back, no account and no session; the same upstream
// with a good token signs in.
func TestUpstreamIDTokenMustVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		env := browserEnv(t, dbURL, nil)
		fx := &fedFixture{oidcFixture: newOIDCFixtureEnv(t, env, startServerClock(t, env, now))}
		op := newFakeOP(t)
		op.register(t, fx)
		// start posts "Continue with" and returns the callback URL the
		// upstream would send the browser to.
		start := func(b *browserless) string {
			t.Helper()
			p := startCorp(t, fx, b)
			if p.Status != http.StatusSeeOther || p.Location().Query().Get("state") == "" {
				t.Fatalf("start: %d %s", p.Status, p.Header.Get("Location"))
			}
			return op.callbackURL(fx, p)
		}
		for _, mode := range []string{"bad-signature", "wrong-nonce"} {
			op.mode.Store(mode)
			b := newBrowserless(t, fx.iss)
			fx.wantUpstreamError(t, mode, b, b.get(start(b)), http.StatusBadGateway)
		}
		op.mode.Store("good")
		b := newBrowserless(t, fx.iss)
		cb := start(b)
		offset.Store(int64(11 * time.Minute))
		fx.wantUpstreamError(t, "expired state", b, b.get(cb), http.StatusBadRequest)
		offset.Store(0)
		if n := countRowsWhere(t, dbURL, "users", "email = 'fake@example.com'"); n != 0 {
			t.Errorf("a failed sign-in created an account")
		}
		b = newBrowserless(t, fx.iss)
		if p := b.get(start(b)); p.Status != http.StatusSeeOther || fx.signedInAs(t, b) == "" {
			t.Errorf("good token: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if n := countEvents(t, openDB(t, dbURL), "upstream.failure"); n != 3 {
			t.Errorf("%d upstream.failure events, want 3", n)
		}
	})
}
