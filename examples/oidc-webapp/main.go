package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "Sigil's issuer URL")
	clientID := flag.String("client-id", "", "client id registered in Sigil")
	secret := flag.String("client-secret", "", "client secret (empty for a public client)")
	addr := flag.String("addr", "127.0.0.1:5555", "listen address")
	flag.Parse()
	if *clientID == "" {
		log.Fatal("-client-id is required")
	}
	app, err := newApp(context.Background(), *issuer, *clientID, *secret, "http://"+*addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("open http://%s/", *addr)
	log.Fatal(http.ListenAndServe(*addr, app))
}

// app is the relying party: its pending logins by state and its sessions
// by cookie value, in memory.
type app struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string
	base     string

	mu       sync.Mutex
	pending  map[string]login // by state
	sessions map[string]user  // by cookie value
}

type login struct{ nonce, verifier string }

type user struct {
	Email, Name, Subject string
	IDToken              string
	Expiry               time.Time
}

func newApp(ctx context.Context, issuer, clientID, secret, base string) (*app, error) {
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", issuer, err)
	}
	a := &app{provider: provider, issuer: issuer, base: base, pending: map[string]login{}, sessions: map[string]user{},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: base + "/callback", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}
	if secret == "" {
		a.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		a.home(w, r)
	case "/login":
		a.login(w, r)
	case "/callback":
		a.callback(w, r)
	case "/logout":
		a.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example app</title></head><body>
{{if .User.Email}}<p id="who">Signed in as {{.User.Email}}{{if .User.Name}} ({{.User.Name}}){{end}}</p>
<p><a id="logout" href="/logout">Sign out</a></p>
{{else}}<p id="who">Not signed in.</p><p><a id="login" href="/login">Sign in with Sigil</a></p>{{end}}
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
</body></html>`))

func (a *app) current(r *http.Request) (user, bool) {
	c, err := r.Cookie("app_session")
	if err != nil {
		return user{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.sessions[c.Value]
	return u, ok && time.Now().Before(u.Expiry)
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	u, _ := a.current(r)
	page.Execute(w, map[string]any{"User": u})
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login sends the browser to Sigil with state, nonce and a PKCE challenge.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	a.mu.Lock()
	a.pending[state] = login{nonce, verifier}
	a.mu.Unlock()
	http.Redirect(w, r, a.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback checks the issuer (RFC 9207) and state, redeems the code with
// the PKCE verifier, verifies the ID token and its nonce, and starts the
// app's own session.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) {
		w.WriteHeader(http.StatusBadRequest)
		page.Execute(w, map[string]any{"User": user{}, "Error": msg})
	}
	if q.Get("iss") != a.issuer {
		fail("the answer does not come from the expected issuer")
		return
	}
	if e := q.Get("error"); e != "" {
		fail("sign-in failed: " + e)
		return
	}
	a.mu.Lock()
	p, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		fail("unknown or reused state")
		return
	}
	tok, err := a.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		fail("code exchange failed: " + err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != p.nonce {
		fail("the ID token does not verify")
		return
	}
	var claims struct{ Email, Name string }
	idt.Claims(&claims)
	sid := random()
	a.mu.Lock()
	a.sessions[sid] = user{Email: claims.Email, Name: claims.Name, Subject: idt.Subject, IDToken: raw, Expiry: idt.Expiry}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "app_session", Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the app's session and Sigil's (RP-initiated logout).
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	u, _ := a.current(r)
	if c, err := r.Cookie("app_session"); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "app_session", Value: "", Path: "/", MaxAge: -1})
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := a.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := url.Values{"post_logout_redirect_uri": {a.base + "/"}, "client_id": {a.oauth.ClientID}}
	if u.IDToken != "" {
		v.Set("id_token_hint", u.IDToken)
	}
	http.Redirect(w, r, meta.EndSession+"?"+v.Encode(), http.StatusSeeOther)
}
