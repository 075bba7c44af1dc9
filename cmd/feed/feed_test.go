package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

var quiet = slog.New(slog.DiscardHandler)

// authority is a stand-in for Sigil: discovery, a JWKS with one Ed25519
// key, and a signer for access tokens under it.
type authority struct {
	srv    *httptest.Server
	signer jose.Signer

	unready     atomic.Int32 // discovery answers 503 while this is above zero
	discoveries atomic.Int32 // discovery requests
}

func newAuthority(t *testing.T) *authority {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: priv, KeyID: "k1", Algorithm: string(jose.EdDSA), Use: "sig"}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jwk},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	a := &authority{signer: signer}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		a.discoveries.Add(1)
		if a.unready.Add(-1) >= 0 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":   a.srv.URL,
			"jwks_uri": a.srv.URL + "/.well-known/jwks.json",
		})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// token returns an access token for sub with the given roles.
func (a *authority) token(t *testing.T, sub string, roles ...string) string {
	t.Helper()
	now := time.Now()
	payload, err := json.Marshal(map[string]any{
		"iss": a.srv.URL, "sub": sub, "aud": []string{"sigil"}, "client_id": "web",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		"jti": rand.Text(), "scope": "", "email": sub + "@example.com", "roles": roles,
	})
	if err != nil {
		t.Fatal(err)
	}
	jws, err := a.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// newFeed starts the feed API against a fake authority.
func newFeed(t *testing.T) (*authority, *httptest.Server) {
	t.Helper()
	a := newAuthority(t)
	v, err := verify.New(t.Context(), a.srv.URL, verify.WithAudience("sigil"), verify.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	feed := httptest.NewServer(newServer(v))
	t.Cleanup(feed.Close)
	return a, feed
}

// call sends a request to the feed and returns the status and body.
func call(t *testing.T, feed *httptest.Server, method, path, token, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, feed.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := feed.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func createPost(t *testing.T, feed *httptest.Server, token, title string) post {
	t.Helper()
	status, _, body := call(t, feed, http.MethodPost, "/feed/post", token, `{"title":"`+title+`","content":"hello"}`)
	if status != http.StatusCreated {
		t.Fatalf("create post: %d %s", status, body)
	}
	var p post
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFeedRequiresToken(t *testing.T) {
	_, feed := newFeed(t)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/feed/posts", ""},
		{http.MethodPost, "/feed/post", `{"title":"t"}`},
		{http.MethodDelete, "/feed/post/abc", ""},
	} {
		status, h, _ := call(t, feed, r.method, r.path, "", r.body)
		if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s without token: %d %q, want 401 with a Bearer challenge", r.method, r.path, status, h.Get("WWW-Authenticate"))
		}
		status, h, _ = call(t, feed, r.method, r.path, "not.a.token", r.body)
		if status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s %s with a bad token: %d %q, want 401 invalid_token", r.method, r.path, status, h.Get("WWW-Authenticate"))
		}
	}
}

func TestCreatedPostIsOwnedByTokenSubject(t *testing.T) {
	a, feed := newFeed(t)
	p := createPost(t, feed, a.token(t, "alice"), "first")
	if p.AuthorID != "alice" || p.Title != "first" || p.Content != "hello" || p.ID == "" {
		t.Errorf("created post = %+v", p)
	}

	status, _, body := call(t, feed, http.MethodGet, "/feed/posts", a.token(t, "bob"), "")
	var list struct{ Posts []post }
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil {
		t.Fatalf("list: %d %s (%v)", status, body, err)
	}
	if len(list.Posts) != 1 || list.Posts[0].ID != p.ID {
		t.Errorf("list = %+v, want the one post", list.Posts)
	}
}

func TestOnlyOwnerOrAdminDeletesPost(t *testing.T) {
	a, feed := newFeed(t)
	alice, bob, admin := a.token(t, "alice"), a.token(t, "bob", "editor"), a.token(t, "root", "admin")

	first := createPost(t, feed, alice, "first")
	if status, _, _ := call(t, feed, http.MethodDelete, "/feed/post/"+first.ID, bob, ""); status != http.StatusForbidden {
		t.Errorf("another user deletes: %d, want 403", status)
	}
	if status, _, _ := call(t, feed, http.MethodDelete, "/feed/post/"+first.ID, alice, ""); status != http.StatusNoContent {
		t.Errorf("owner deletes: %d, want 204", status)
	}
	if status, _, _ := call(t, feed, http.MethodDelete, "/feed/post/"+first.ID, alice, ""); status != http.StatusNotFound {
		t.Errorf("deleting again: %d, want 404", status)
	}

	second := createPost(t, feed, alice, "second")
	if status, _, _ := call(t, feed, http.MethodDelete, "/feed/post/"+second.ID, admin, ""); status != http.StatusNoContent {
		t.Errorf("admin deletes: %d, want 204", status)
	}
	_, _, body := call(t, feed, http.MethodGet, "/feed/posts", alice, "")
	if !bytes.Contains(body, []byte(`"posts":[]`)) {
		t.Errorf("list after deleting everything = %s", body)
	}
}

func TestCreatePostRejectsBadBodies(t *testing.T) {
	a, feed := newFeed(t)
	token := a.token(t, "alice")
	tests := []struct {
		name, body string
		want       int
	}{
		{"not JSON", `{"title":`, http.StatusBadRequest},
		{"wrong type", `{"title":42}`, http.StatusBadRequest},
		{"no title", `{"content":"x"}`, http.StatusUnprocessableEntity},
		{"too large", `{"title":"t","content":"` + strings.Repeat("x", maxBodySize) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := call(t, feed, http.MethodPost, "/feed/post", token, tt.body)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
			var problem struct {
				Title  string
				Status int
			}
			if h.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &problem) != nil || problem.Status != tt.want {
				t.Errorf("answer is not a problem document: %s %s", h.Get("Content-Type"), body)
			}
		})
	}
}

func TestConnectWaitsForAuthority(t *testing.T) {
	a := newAuthority(t)
	a.unready.Store(2)
	cfg := config{issuer: a.srv.URL, audience: "sigil"}
	v, err := connect(t.Context(), cfg, quiet, 10*time.Second)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := v.Verify(t.Context(), a.token(t, "alice")); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if n := a.discoveries.Load(); n != 3 {
		t.Errorf("discovery attempts = %d, want 3", n)
	}
}

func TestConnectGivesUp(t *testing.T) {
	a := newAuthority(t)
	a.srv.Close()
	start := time.Now()
	if _, err := connect(t.Context(), config{issuer: a.srv.URL, audience: "sigil"}, quiet, time.Second); err == nil {
		t.Fatal("connect succeeded without an authority")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("connect gave up after %v, want about 1s", d)
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	c, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c != (config{addr: "127.0.0.1:8081", issuer: "http://127.0.0.1:8080", audience: "sigil"}) {
		t.Errorf("defaults = %+v", c)
	}
	env["FEED_ISSUER"] = "sigil.example"
	if _, err := loadConfig(getenv); err == nil || !strings.Contains(err.Error(), "FEED_ISSUER") {
		t.Errorf("relative issuer: error = %v, want one naming FEED_ISSUER", err)
	}
}
