package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakePeer is an OpenID Provider as bench/peers/oidc-provider behaves:
// endpoints named by discovery (not Sigil's paths), an authorization
// request without a session goes through an interaction that signs the
// browser in with no page, and with the session cookie it answers a code
// at once; the token endpoint checks PKCE and spends each code once.
type fakePeer struct {
	mu           sync.Mutex
	codes        map[string]string // code → challenge
	interactions atomic.Int64
	pairs        atomic.Int64
	bad          atomic.Int64
}

func (p *fakePeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const redirect = "http://127.0.0.1:9/callback"
	switch {
	case r.URL.Path == "/.well-known/openid-configuration":
		fmt.Fprintf(w, `{"authorization_endpoint":"http://%s/authz","token_endpoint":"http://%s/tok"}`, r.Host, r.Host)
	case r.URL.Path == "/authz" || r.URL.Path == "/authz/resume":
		q := r.URL.Query()
		if r.URL.Path == "/authz/resume" {
			q, _ = url.ParseQuery(mustCookie(r, "pending"))
		}
		if q.Get("client_id") != "web" || q.Get("redirect_uri") != redirect || q.Get("code_challenge_method") != "S256" {
			p.bad.Add(1)
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		if mustCookie(r, "session") != "signed-in" {
			http.SetCookie(w, &http.Cookie{Name: "pending", Value: q.Encode(), Path: "/"})
			http.Redirect(w, r, "/interaction/1", http.StatusSeeOther)
			return
		}
		code := randomHex(8)
		p.mu.Lock()
		p.codes[code] = q.Get("code_challenge")
		p.mu.Unlock()
		http.Redirect(w, r, redirect+"?code="+code+"&state="+q.Get("state"), http.StatusSeeOther)
	case r.URL.Path == "/interaction/1":
		p.interactions.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "signed-in", Path: "/"})
		http.Redirect(w, r, "/authz/resume", http.StatusSeeOther)
	case r.URL.Path == "/tok" && r.Method == http.MethodPost:
		if _, _, ok := r.BasicAuth(); ok || r.Header.Get("Cookie") != "" {
			p.bad.Add(1) // a public client's back end sends neither
		}
		p.mu.Lock()
		challenge, ok := p.codes[r.FormValue("code")]
		delete(p.codes, r.FormValue("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge || r.FormValue("client_id") != "web" {
			p.bad.Add(1)
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		p.pairs.Add(1)
		// header {"alg":"RS256","typ":"at+jwt"}
		io.WriteString(w, `{"access_token":"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln","id_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","token_type":"Bearer"}`)
	default:
		p.bad.Add(1)
		http.NotFound(w, r)
	}
}

func mustCookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// -peer -scenario authcode signs one browser in through the peer's own
// interaction in set-up, then each pair is an authorization request with
// that session and a code exchange at the endpoints discovery names.
func TestPeerAuthCodeSignsInOnceThenExchangesCodes(t *testing.T) {
	p := &fakePeer{codes: map[string]string{}}
	srv := httptest.NewServer(p)
	defer srv.Close()
	var out strings.Builder
	err := runMain(context.Background(), []string{"-peer", "-addr", srv.URL, "-client-id", "web",
		"-scenario", "authcode", "-c", "2", "-duration", "300ms"}, strings.NewReader(""), &out, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if p.interactions.Load() != 1 || p.bad.Load() != 0 || p.pairs.Load() < 4 {
		t.Fatalf("%d interactions, %d bad requests, %d pairs\n%s", p.interactions.Load(), p.bad.Load(), p.pairs.Load(), out.String())
	}
	if !strings.Contains(out.String(), "signing alg RS256") || !strings.Contains(out.String(), "\nauthcode ") {
		t.Fatalf("report:\n%s", out.String())
	}
}

// A peer whose sign-in never ends in a code fails the set-up with the
// reason, before any load.
func TestPeerAuthCodeSetUpFailureIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			fmt.Fprintf(w, `{"authorization_endpoint":"http://%s/authz","token_endpoint":"http://%s/tok"}`, r.Host, r.Host)
			return
		}
		http.Redirect(w, r, "/authz", http.StatusSeeOther) // a loop
	}))
	defer srv.Close()
	err := runMain(context.Background(), []string{"-peer", "-addr", srv.URL, "-client-id", "web",
		"-scenario", "authcode", "-c", "1", "-duration", "100ms"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no code after 10 redirects") {
		t.Fatalf("got %v", err)
	}
}

func TestPeerAuthCodeOptions(t *testing.T) {
	if _, _, err := parseOptions([]string{"-peer", "-client-id", "web", "-scenario", "authcode"}, io.Discard); err != nil {
		t.Fatalf("public client refused: %v", err)
	}
	for _, args := range [][]string{
		{"-peer", "-client-id", "web", "-scenario", "client_credentials"},
		{"-peer", "-client-id", "a", "-client-secret", "b", "-scenario", "authcode"},
		{"-peer", "-client-id", "a", "-client-secret", "b", "-scenario", "client_credentials,authcode"},
		{"-client-id", "web", "-scenario", "authcode"},
	} {
		if _, _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
