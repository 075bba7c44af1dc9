package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigil-auth/sigil/authority"
)

// ghUser is an account at the GitHub stand-in.
type ghUser struct {
	ID     int64
	Login  string
	Name   string
	Emails []map[string]any
}

// fakeGitHub stands in for a GitHub Enterprise Server at
// http://127.0.0.1:PORT: the OAuth app's authorize and access_token
// endpoints at /login/oauth/*, and /api/v3/user and /api/v3/user/emails.
// It checks what GitHub checks (client id and secret, redirect URI, the
// PKCE verifier against the challenge, codes spent once, the bearer
// token) and what GitHub asks of a client (the REST headers).
type fakeGitHub struct {
	t           *testing.T
	srv         *httptest.Server
	clientID    string
	secret      string
	redirectURI string

	mu     sync.Mutex
	as     *ghUser // who is signed in at GitHub
	codes  map[string]ghCode
	tokens map[string]*ghUser
	// tokenError, when set, is the OAuth error the token endpoint answers
	// (with 200, as GitHub does).
	tokenError string
	// apiCalls counts the REST calls that reached the stand-in.
	apiCalls int
	// sawChallenge is the last PKCE challenge at the authorize endpoint.
	sawChallenge string
}

type ghCode struct {
	challenge, redirectURI string
	user                   *ghUser
}

func newFakeGitHub(t *testing.T, redirectURI string) *fakeGitHub {
	gh := &fakeGitHub{t: t, clientID: "Iv1.gh-client", secret: "gh-secret-" + authority.RandomToken(8), redirectURI: redirectURI,
		codes: map[string]ghCode{}, tokens: map[string]*ghUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/login/oauth/authorize", gh.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", gh.accessToken)
	mux.HandleFunc("GET /api/v3/user", gh.api(func(u *ghUser) any {
		return map[string]any{"id": u.ID, "login": u.Login, "name": u.Name, "type": "User"}
	}))
	mux.HandleFunc("GET /api/v3/user/emails", gh.api(func(u *ghUser) any { return u.Emails }))
	gh.srv = httptest.NewServer(mux)
	t.Cleanup(gh.srv.Close)
	return gh
}

// signIn makes u the user signed in at GitHub.
func (gh *fakeGitHub) signIn(u *ghUser) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	gh.as = u
}

func (gh *fakeGitHub) setTokenError(e string) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	gh.tokenError = e
}

func (gh *fakeGitHub) calls() int {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	return gh.apiCalls
}

func (gh *fakeGitHub) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != gh.clientID:
		http.Error(w, "unknown client_id", http.StatusNotFound)
		return
	case q.Get("redirect_uri") != gh.redirectURI:
		http.Error(w, "redirect_uri mismatch", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "":
		http.Error(w, "PKCE S256 and state required", http.StatusBadRequest)
		return
	case q.Get("scope") != "read:user user:email":
		http.Error(w, "unexpected scope "+q.Get("scope"), http.StatusBadRequest)
		return
	}
	gh.mu.Lock()
	u := gh.as
	code := authority.RandomToken(16)
	gh.codes[code] = ghCode{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), user: u}
	gh.sawChallenge = q.Get("code_challenge")
	gh.mu.Unlock()
	if u == nil {
		http.Error(w, "nobody signed in at the stand-in", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, gh.redirectURI+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (gh *fakeGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	answer := func(v any) { json.NewEncoder(w).Encode(v) }
	oauthErr := func(e string) {
		answer(map[string]string{"error": e, "error_description": e, "error_uri": "https://docs.github.com/"})
	}
	if r.Header.Get("Accept") != "application/json" {
		http.Error(w, "this stand-in answers JSON only", http.StatusNotAcceptable)
		return
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	code, ok := gh.codes[r.PostFormValue("code")]
	delete(gh.codes, r.PostFormValue("code")) // spent once
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case r.PostFormValue("client_id") != gh.clientID || r.PostFormValue("client_secret") != gh.secret:
		oauthErr("incorrect_client_credentials")
	case gh.tokenError != "":
		oauthErr(gh.tokenError)
	case !ok:
		oauthErr("bad_verification_code")
	case r.PostFormValue("redirect_uri") != code.redirectURI:
		oauthErr("redirect_uri_mismatch")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge:
		oauthErr("bad_verification_code")
	default:
		tok := "gho_" + authority.RandomToken(20)
		gh.tokens[tok] = code.user
		answer(map[string]string{"access_token": tok, "token_type": "bearer", "scope": "read:user,user:email"})
	}
}

func (gh *fakeGitHub) api(body func(*ghUser) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		gh.mu.Lock()
		gh.apiCalls++
		u := gh.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		gh.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" ||
			r.Header.Get("User-Agent") == "":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"missing REST headers"}`))
		case u == nil:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials"}`))
		default:
			json.NewEncoder(w).Encode(body(u))
		}
	}
}

// ghFixture is Sigil (the oidcFixture's server) with the GitHub
// stand-in registered as the upstream "gh".
type ghFixture struct {
	*oidcFixture
	gh *fakeGitHub
}

func newGitHubFixture(t *testing.T, dbURL, linking string) *ghFixture {
	t.Helper()
	fx := &ghFixture{oidcFixture: newOIDCFixture(t, dbURL, nil)}
	fx.gh = newFakeGitHub(t, fx.iss+"/login/upstream/gh/callback")
	st, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "gh", "name": "GitHub", "type": "github",
		"issuer": fx.gh.srv.URL, "clientId": fx.gh.clientID, "clientSecret": fx.gh.secret, "linking": linking}, bearer(fx.admin)...)
	if st != http.StatusCreated || !strings.Contains(string(body), `"scopes":["read:user","user:email"]`) {
		t.Fatalf("create the github upstream: %d %s", st, body)
	}
	return fx
}

// start posts "Continue with GitHub" on the sign-in page login and
// returns the redirect to the stand-in's authorize endpoint.
func (fx *ghFixture) start(t *testing.T, b *browserless, login page) page {
	t.Helper()
	if !strings.Contains(login.Body, `name="upstream" value="gh"`) || !strings.Contains(login.Body, "Continue with GitHub") {
		t.Fatalf("no GitHub button on the sign-in page (%d):\n%.2000s", login.Status, login.Body)
	}
	f := hidden(login)
	f.Set("upstream", "gh")
	return b.post(fx.iss+"/login/upstream", f)
}

// viaGitHub runs a sign-in through the stand-in as u from the sign-in
// page login and returns Sigil's answer to the callback.
func (fx *ghFixture) viaGitHub(t *testing.T, b *browserless, login page, u *ghUser) page {
	t.Helper()
	fx.gh.signIn(u)
	p := fx.start(t, b, login)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), fx.gh.srv.URL+"/login/oauth/authorize?") {
		t.Fatalf("start: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
	}
	if q := p.Location().Query(); q.Has("nonce") || q.Get("code_challenge") == "" {
		t.Errorf("authorize request: %s", p.Header.Get("Location"))
	}
	at := b.get(p.Header.Get("Location"))
	if at.Status != http.StatusFound || !strings.HasPrefix(at.Header.Get("Location"), fx.iss+"/login/upstream/gh/callback?") {
		t.Fatalf("the stand-in did not send the browser back: %d %s\n%.500s", at.Status, at.Header.Get("Location"), at.Body)
	}
	return b.get(at.Header.Get("Location"))
}

// wantError checks the page of a failed sign-in: the status, a way back
// to the sign-in page, and no session.
func (fx *ghFixture) wantError(t *testing.T, what string, b *browserless, p page, status int) {
	t.Helper()
	if p.Status != status || !strings.Contains(p.Body, `href="/login`) || !strings.Contains(p.Body, "Back to sign in") {
		t.Errorf("%s: %d, want %d with a way back to the sign-in page\n%.800s", what, p.Status, status, p.Body)
	}
	if a := b.get(fx.iss + "/account"); a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/login" {
		t.Errorf("%s: a session was opened (account page %d %s)", what, a.Status, a.Header.Get("Location"))
	}
}

func ghEmails(email string, verified bool) []map[string]any {
	return []map[string]any{
		{"email": "12345+octo@users.noreply.github.com", "primary": false, "verified": true, "visibility": nil},
		{"email": email, "primary": true, "verified": verified, "visibility": "private"},
	}
}
