package verify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

const mcpResource = "https://mcp.example.com/mcp"

func newResourceVerifier(t *testing.T, a *fakeAuthority, clock *fakeClock, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	opts = append([]verify.Option{verify.WithClock(clock.Now), verify.WithLogger(quiet), verify.WithResource(mcpResource)}, opts...)
	v, err := verify.New(t.Context(), a.issuer, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// A resource server named by WithResource serves its RFC 9728 metadata
// at the well-known path derived from its identifier, points every
// challenge at it, and accepts tokens whose audience is the resource.
func TestResourceMetadataAndChallenges(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newResourceVerifier(t, a, clock, verify.WithRequiredScopes("notes:read"), verify.WithResourceName("Notes"))

	const wantURL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	if got := v.ResourceMetadataURL(); got != wantURL {
		t.Fatalf("metadata URL %q, want %q", got, wantURL)
	}
	mux := http.NewServeMux()
	mux.Handle(v.ResourceMetadataPath(), v.ResourceMetadataHandler())
	mux.Handle("/mcp", v.Middleware(okHandler))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		BearerMethods        []string `json:"bearer_methods_supported"`
		Scopes               []string `json:"scopes_supported"`
		Name                 string   `json:"resource_name"`
	}
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("metadata: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	if meta.Resource != mcpResource || !slices.Equal(meta.AuthorizationServers, []string{a.issuer}) ||
		!slices.Equal(meta.BearerMethods, []string{"header"}) || !slices.Equal(meta.Scopes, []string{"notes:read"}) || meta.Name != "Notes" {
		t.Errorf("metadata %+v", meta)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("metadata CORS %q, want *", got)
	}
	if r, err := http.Post(srv.URL+v.ResourceMetadataPath(), "application/json", nil); err != nil || r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the metadata: %v %v, want 405", r.StatusCode, err)
	}

	param := `resource_metadata="` + wantURL + `"`
	call := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/mcp", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	if w := call(""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), param) {
		t.Errorf("no token: %d %q, want 401 naming the metadata", w.Code, w.Header().Get("WWW-Authenticate"))
	}

	claims := a.claims(clock.Now())
	claims["aud"] = mcpResource
	claims["scope"] = "notes:read"
	if w := call(a.sign(k, claims)); w.Code != http.StatusOK {
		t.Errorf("token for the resource: %d %s", w.Code, w.Body)
	}
	claims["aud"] = "sigil"
	if w := call(a.sign(k, claims)); w.Code != http.StatusUnauthorized ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) || !strings.Contains(w.Header().Get("WWW-Authenticate"), param) {
		t.Errorf("token for another audience: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	claims["aud"] = mcpResource
	claims["scope"] = "notes:write"
	if w := call(a.sign(k, claims)); w.Code != http.StatusForbidden || !strings.Contains(w.Header().Get("WWW-Authenticate"), param) {
		t.Errorf("token without the scope: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

// A resource identifier at the host's root has its metadata at the bare
// well-known path; without WithResource there is no metadata at all.
func TestResourceMetadataPaths(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.EdDSA)
	clock := newClock()
	for resource, want := range map[string]string{
		"https://api.example.com":            "https://api.example.com/.well-known/oauth-protected-resource",
		"https://api.example.com/":           "https://api.example.com/.well-known/oauth-protected-resource",
		"http://127.0.0.1:8081/notes/v1":     "http://127.0.0.1:8081/.well-known/oauth-protected-resource/notes/v1",
		"https://api.example.com/x?tenant=a": "https://api.example.com/.well-known/oauth-protected-resource/x?tenant=a",
	} {
		v, err := verify.New(t.Context(), a.issuer, verify.WithClock(clock.Now), verify.WithLogger(quiet), verify.WithResource(resource))
		if err != nil {
			t.Fatalf("%s: %v", resource, err)
		}
		if got := v.ResourceMetadataURL(); got != want {
			t.Errorf("%s: metadata at %q, want %q", resource, got, want)
		}
	}

	plain := newVerifier(t, a, clock)
	if plain.ResourceMetadataURL() != "" || plain.ResourceMetadataPath() != "" {
		t.Errorf("without a resource: %q %q", plain.ResourceMetadataURL(), plain.ResourceMetadataPath())
	}
	w := httptest.NewRecorder()
	plain.ResourceMetadataHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("metadata without a resource: %d, want 404", w.Code)
	}
	if got := serve(plain.Middleware(okHandler), "").Header().Get("WWW-Authenticate"); strings.Contains(got, "resource_metadata") {
		t.Errorf("challenge without a resource names metadata: %q", got)
	}
}

// A resource identifier that is not an absolute http(s) URL, or has a
// fragment or user information, is refused when the Verifier is built.
func TestWithResourceRefusesBadIdentifiers(t *testing.T) {
	a := newAuthority(t)
	for _, bad := range []string{"mcp", "/mcp", "ftp://files.example.com/x", "https://mcp.example.com/mcp#top", "https://user:pw@mcp.example.com/", "https://"} {
		if _, err := verify.New(t.Context(), a.issuer, verify.WithLogger(quiet), verify.WithResource(bad)); err == nil {
			t.Errorf("WithResource(%q) accepted", bad)
		}
	}
}
