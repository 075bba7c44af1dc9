package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sigil-auth/sigil/store"
)

// oidcClient registers an authorization-code client through the admin API
// and returns its id and secret ("" for a public client).
func (s *server) oidcClient(t *testing.T, admin string, body map[string]any) (string, string) {
	t.Helper()
	st, _, b := s.postJSON(t, "/admin/clients", body, bearer(admin)...)
	if st != http.StatusCreated {
		t.Fatalf("create client: %d %s", st, b)
	}
	var r struct{ ClientID, ClientSecret string }
	decode(t, b, &r)
	return r.ClientID, r.ClientSecret
}

// rpResult is what a relying party saw at its callback.
type rpResult struct {
	Err      string // the error parameter, or what failed in the RP
	State    string
	Token    *oauth2.Token
	IDToken  *oidc.IDToken
	RawID    string
	Claims   rpClaims
	Verified bool
}

type rpClaims struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          *string  `json:"name"`
	Nonce         string   `json:"nonce"`
	SID           string   `json:"sid"`
	AMR           []string `json:"amr"`
	AuthTime      int64    `json:"auth_time"`
	AtHash        string   `json:"at_hash"`
}

// relyingParty is a real OpenID Connect client: golang.org/x/oauth2 with
// PKCE for the flow and coreos/go-oidc for discovery and ID-token
// verification, served on a loopback port.
type relyingParty struct {
	t        *testing.T
	srv      *httptest.Server
	issuer   string
	cfg      oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string]rpPending // by state
	results chan rpResult
}

type rpPending struct{ nonce, verifier string }

// newRelyingParty starts a relying party for clientID (secret "" for a
// public client) at a free loopback port; redirect must be registered as
// rp.Callback().
func newRelyingParty(t *testing.T, issuer string) *relyingParty {
	rp := &relyingParty{t: t, issuer: issuer, pending: map[string]rpPending{}, results: make(chan rpResult, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", rp.start)
	mux.HandleFunc("/callback", rp.callback)
	mux.HandleFunc("/logged-out", func(w http.ResponseWriter, r *http.Request) {
		rp.results <- rpResult{Err: "logged_out", State: r.URL.Query().Get("state")}
		fmt.Fprintf(w, `<!doctype html><title>RP</title><p id="result">logged out %s</p>`, html.EscapeString(r.URL.Query().Get("state")))
	})
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *relyingParty) Callback() string  { return rp.srv.URL + "/callback" }
func (rp *relyingParty) LoggedOut() string { return rp.srv.URL + "/logged-out" }

// configure discovers the provider and sets the client.
func (rp *relyingParty) configure(clientID, secret string, scopes ...string) {
	rp.t.Helper()
	provider, err := oidc.NewProvider(context.Background(), rp.issuer)
	if err != nil {
		rp.t.Fatalf("discovery: %v", err)
	}
	rp.cfg = oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: rp.Callback(), Scopes: scopes}
	if secret == "" {
		rp.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: clientID})
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start redirects to the authorization endpoint with state, nonce, PKCE
// S256 and any extra parameters of its own query.
func (rp *relyingParty) start(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = rpPending{nonce, verifier}
	rp.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	for k, v := range r.URL.Query() {
		opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
	}
	http.Redirect(w, r, rp.cfg.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback checks iss (RFC 9207) and state, redeems the code with the PKCE
// verifier, and verifies the ID token (signature from the JWKS, iss, aud,
// exp, nonce, at_hash).
func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res := rp.handle(r.Context(), q)
	rp.results <- res
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if res.Err != "" {
		fmt.Fprintf(w, `<!doctype html><title>RP</title><p id="result">error %s</p>`, html.EscapeString(res.Err))
		return
	}
	fmt.Fprintf(w, `<!doctype html><title>RP</title><p id="result">signed in as %s</p>`, html.EscapeString(res.Claims.Email))
}

func (rp *relyingParty) handle(ctx context.Context, q url.Values) rpResult {
	res := rpResult{State: q.Get("state")}
	if q.Get("iss") != rp.issuer {
		res.Err = "iss parameter " + q.Get("iss")
		return res
	}
	if e := q.Get("error"); e != "" {
		res.Err = e
		return res
	}
	rp.mu.Lock()
	p, ok := rp.pending[res.State]
	delete(rp.pending, res.State)
	rp.mu.Unlock()
	if !ok {
		res.Err = "unknown state"
		return res
	}
	tok, err := rp.cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		res.Err = "exchange: " + err.Error()
		return res
	}
	res.Token = tok
	raw, _ := tok.Extra("id_token").(string)
	res.RawID = raw
	if raw == "" {
		res.Verified = true
		return res
	}
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		res.Err = "verify id token: " + err.Error()
		return res
	}
	if idt.Nonce != p.nonce {
		res.Err = "nonce mismatch"
		return res
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		res.Err = "at_hash: " + err.Error()
		return res
	}
	if err := idt.Claims(&res.Claims); err != nil {
		res.Err = "claims: " + err.Error()
		return res
	}
	res.IDToken, res.Verified = idt, true
	return res
}

// result waits for the next callback.
func (rp *relyingParty) result(t *testing.T) rpResult {
	t.Helper()
	select {
	case r := <-rp.results:
		return r
	case <-t.Context().Done():
		t.Fatal("no callback at the relying party")
	}
	return rpResult{}
}

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	v := oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(v))
	return v, base64.RawURLEncoding.EncodeToString(sum[:])
}

// browserless is a cookie-keeping HTTP client that does not follow
// redirects, for driving the hosted pages without a browser.
type browserless struct {
	t      *testing.T
	c      *http.Client
	origin string
}

func newBrowserless(t *testing.T, origin string) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, origin: origin, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (p page) Location() *url.URL {
	u, _ := url.Parse(p.Header.Get("Location"))
	return u
}

func (b *browserless) get(rawURL string) page {
	b.t.Helper()
	return b.do(http.MethodGet, rawURL, nil)
}

// post submits a form as the page's own form would (same Origin).
func (b *browserless) post(rawURL string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, rawURL, form)
}

func (b *browserless) do(method, rawURL string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	bb, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(bb)}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden returns a page's hidden form fields.
func hidden(p page) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.Body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// signIn posts the sign-in form of a login page.
func (b *browserless) signIn(login page, email, password string) page {
	b.t.Helper()
	f := hidden(login)
	if f.Get("csrf_token") == "" {
		b.t.Fatalf("no CSRF token on the sign-in page (%d):\n%s", login.Status, login.Body)
	}
	f.Set("email", email)
	f.Set("password", password)
	return b.post(b.origin+"/login", f)
}

type accessClaims struct {
	Subject  string
	ClientID string
	Scope    string
	Email    string
	AMR      []string
}

// verifyAccessToken checks an access token with nothing but the JWKS (as
// a resource server would), its typ at+jwt and its audience.
func verifyAccessToken(t *testing.T, s *server, tok, aud string) accessClaims {
	t.Helper()
	if typ := tokenHeader(t, tok)["typ"]; typ != "at+jwt" {
		t.Errorf("access token typ %v", typ)
	}
	c := verifyWithJWKS(t, s, tok)
	if c["aud"] != aud {
		t.Errorf("access token aud %v, want %s", c["aud"], aud)
	}
	out := accessClaims{}
	out.Subject, _ = c["sub"].(string)
	out.ClientID, _ = c["client_id"].(string)
	out.Scope, _ = c["scope"].(string)
	out.Email, _ = c["email"].(string)
	if a, ok := c["amr"].([]any); ok {
		for _, x := range a {
			s, _ := x.(string)
			out.AMR = append(out.AMR, s)
		}
	}
	return out
}

// countRowsWhere counts the rows of table matching a condition written by
// the test itself (never from input).
func countRowsWhere(t *testing.T, dbURL, table, cond string) int {
	t.Helper()
	dialect, src, err := store.ParseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	driver := "postgres"
	if dialect == store.SQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table + " WHERE " + cond).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
