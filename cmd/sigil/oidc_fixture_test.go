package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// oidcFixture is a server with a user and clients of the browser flow,
// driven without a browser (a cookie jar that does not follow redirects).
type oidcFixture struct {
	s        *server
	iss      string
	admin    string
	redirect string
	// conf is a third-party confidential client; pub a first-party
	// public client.
	confID, confSecret string
	pubID              string
}

const (
	userEmail    = "grace@example.com"
	userPassword = "a long enough password"
)

func newOIDCFixture(t *testing.T, dbURL string, extra map[string]string) *oidcFixture {
	t.Helper()
	env := browserEnv(t, dbURL, extra)
	return newOIDCFixtureEnv(t, env, startServer(t, env))
}

func newOIDCFixtureEnv(t *testing.T, env map[string]string, s *server) *oidcFixture {
	t.Helper()
	f := &oidcFixture{s: s, iss: env["SIGIL_ISSUER"], redirect: "http://127.0.0.1:9/callback"}
	f.admin = s.adminToken(t)
	f.confID, f.confSecret = s.oidcClient(t, f.admin, map[string]any{"name": "Wiki", "redirectUris": []string{f.redirect},
		"postLogoutRedirectUris": []string{"http://127.0.0.1:9/bye"}})
	f.pubID, _ = s.oidcClient(t, f.admin, map[string]any{"name": "App", "public": true, "firstParty": true,
		"redirectUris": []string{f.redirect, "com.example.app:/cb"}})
	st, _, body := s.postJSON(t, "/auth/signup", map[string]string{"email": userEmail, "password": userPassword, "name": "Grace"})
	if st != http.StatusCreated {
		t.Fatalf("signup: %d %s", st, body)
	}
	return f
}

func (f *oidcFixture) authorizeURL(clientID string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {f.redirect},
		"scope": {"openid email"}, "state": {"st-1"}, "nonce": {"n-1"}}
	for k, v := range extra {
		if v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return f.iss + "/oauth2/authorize?" + q.Encode()
}

// wantRedirectError checks an error sent back to the client with state
// and iss.
func (f *oidcFixture) wantRedirectError(t *testing.T, what string, p page, code string) {
	t.Helper()
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		t.Errorf("%s: %d, want a redirect with error=%s\n%.300s", what, p.Status, code, p.Body)
		return
	}
	loc := p.Location()
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), f.redirect) || q.Get("error") != code || q.Get("error_description") == "" ||
		q.Get("state") != "st-1" || q.Get("iss") != f.iss || q.Has("code") {
		t.Errorf("%s: redirect %s, want error=%s with state and iss", what, loc, code)
	}
}

// wantErrorPage checks a 400 error page that does not redirect.
func wantErrorPage(t *testing.T, what string, p page) {
	t.Helper()
	if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" || !strings.Contains(p.Body, `role="alert"`) ||
		!strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: %d Location=%q, want a 400 error page\n%.300s", what, p.Status, p.Header.Get("Location"), p.Body)
	}
}

// signedIn returns a cookie jar client signed in as the fixture's user.
func (f *oidcFixture) signedIn(t *testing.T) *browserless {
	t.Helper()
	b := newBrowserless(t, f.iss)
	p := b.signIn(b.get(f.iss+"/login"), userEmail, userPassword)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account" {
		t.Fatalf("sign in: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return b
}

// code runs the flow for the public client with a PKCE challenge and
// returns the code and its verifier.
func (f *oidcFixture) code(t *testing.T, b *browserless, extra url.Values) (string, string) {
	t.Helper()
	verifier, challenge := pkce()
	q := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	p := b.get(f.authorizeURL(f.pubID, q))
	code := p.Location().Query().Get("code")
	if p.Status != http.StatusFound || code == "" || p.Location().Query().Get("iss") != f.iss || p.Location().Query().Get("state") != "st-1" {
		t.Fatalf("authorize: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return code, verifier
}

func (f *oidcFixture) exchange(t *testing.T, code, verifier string) (int, http.Header, []byte) {
	t.Helper()
	return f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {f.pubID}})
}

type codeAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}
