package verify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

// serve sends a GET with the given Authorization header (none when empty)
// through h.
func serve(h http.Handler, authorization string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/posts", nil)
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// okHandler answers 200 with the subject of the claims in the context.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := verify.ClaimsFromContext(r.Context())
	if !ok {
		http.Error(w, "no claims", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte(c.Subject))
})

func TestMiddlewareWithoutTokenChallengesWithoutErrorCode(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.EdDSA)
	v := newVerifier(t, a, newClock(), verify.WithRealm("feed"))
	h := v.Middleware(okHandler)

	for _, auth := range []string{"", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   "} {
		w := serve(h, auth)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, w.Code)
		}
		if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="feed"` {
			t.Errorf("Authorization %q: WWW-Authenticate = %q, want %q", auth, got, `Bearer realm="feed"`)
		}
	}
}

func TestMiddlewareRejectsInvalidToken(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)
	h := v.Middleware(okHandler)
	claims := a.claims(clock.Now())
	claims["aud"] = "billing"
	token := a.sign(k, claims)

	w := serve(h, "Bearer "+token)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", w.Code)
	}
	got := w.Header().Get("WWW-Authenticate")
	want := `Bearer realm="` + a.issuer + `", error="invalid_token", error_description="wrong audience"`
	if got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != "invalid_token" {
		t.Errorf("body = %q (%v), want a JSON invalid_token error", w.Body, err)
	}
	if strings.Contains(w.Body.String()+got, token) {
		t.Error("the answer echoes the token")
	}
}

func TestMiddlewareQuotesChallengeParameters(t *testing.T) {
	a := newAuthority(t)
	a.newKey(jose.EdDSA)
	v := newVerifier(t, a, newClock(), verify.WithRealm("a \"quoted\\\" realm\r\n"))
	w := serve(v.Middleware(okHandler), "Bearer x.y.z")
	want := `Bearer realm="a \"quoted\\\" realm", error="invalid_token", error_description="malformed token header"`
	if got := w.Header().Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
}

func TestMiddlewarePutsClaimsInContext(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.RS256)
	clock := newClock()
	v := newVerifier(t, a, clock)
	token := a.sign(k, a.claims(clock.Now()))

	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		w := serve(v.Middleware(okHandler), scheme+" "+token)
		if w.Code != http.StatusOK || w.Body.String() != "user-42" {
			t.Errorf("scheme %q: %d %q, want 200 user-42", scheme, w.Code, w.Body)
		}
	}
}

func TestMiddlewareAnswersForbiddenForRequiredScope(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock, verify.WithRequiredScopes("posts:read", "posts:delete"))

	w := serve(v.Middleware(okHandler), "Bearer "+a.sign(k, a.claims(clock.Now())))
	if w.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", w.Code)
	}
	got := w.Header().Get("WWW-Authenticate")
	if !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, `scope="posts:read posts:delete"`) {
		t.Errorf("WWW-Authenticate = %q, want insufficient_scope naming the scopes", got)
	}
}

func TestRequireScopeAndRole(t *testing.T) {
	a := newAuthority(t)
	k := a.newKey(jose.EdDSA)
	clock := newClock()
	v := newVerifier(t, a, clock)
	token := "Bearer " + a.sign(k, a.claims(clock.Now())) // scope "posts:read posts:write", roles admin, editor

	tests := []struct {
		name       string
		require    func(http.Handler) http.Handler
		wantCode   int
		wantHeader string
	}{
		{"scope present", verify.RequireScope("posts:write"), http.StatusOK, ""},
		{"scope missing", verify.RequireScope("posts:delete"), http.StatusForbidden,
			`Bearer error="insufficient_scope", error_description="the token lacks the scope posts:delete", scope="posts:delete"`},
		{"role present", verify.RequireRole("admin"), http.StatusOK, ""},
		{"role missing", verify.RequireRole("owner"), http.StatusForbidden,
			`Bearer error="insufficient_scope", error_description="the token lacks the role owner"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(v.Middleware(tt.require(okHandler)), token)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantHeader {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantHeader)
			}
		})
	}
}

func TestRequireScopeWithoutMiddlewareIsUnauthorized(t *testing.T) {
	w := serve(verify.RequireScope("posts:read")(okHandler), "")
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", w.Code)
	}
}
