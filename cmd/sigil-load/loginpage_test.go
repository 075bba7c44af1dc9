package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLoginPage is the hosted login page as web/ serves it: GET /login
// sets a double-submit CSRF cookie and carries its token in the form;
// POST /login wants the token in both, the right credentials, and answers
// 303 with the session cookie (or without it, when noSession is set).
type fakeLoginPage struct {
	gets, posts, bad atomic.Int64
	noSession        bool
}

const fakeToken = "abcdefghijabcdefghijabcdefghijabcdefghij123"

func (p *fakeLoginPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/login" {
		p.bad.Add(1)
		http.NotFound(w, r)
		return
	}
	if _, err := r.Cookie("sigil_session"); err == nil {
		p.bad.Add(1) // every sign-in starts signed out
	}
	switch r.Method {
	case http.MethodGet:
		p.gets.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "sigil_csrf", Value: fakeToken, Path: "/", HttpOnly: true})
		fmt.Fprintf(w, `<form method="post"><input type="hidden" name="csrf_token" value="%s"><input name="email"></form>`, fakeToken)
	case http.MethodPost:
		p.posts.Add(1)
		c, err := r.Cookie("sigil_csrf")
		if err != nil || c.Value != fakeToken || r.PostFormValue("csrf_token") != fakeToken ||
			r.PostFormValue("email") != "u@example.com" || r.PostFormValue("password") != "pw" {
			p.bad.Add(1)
			http.Error(w, "form expired", http.StatusForbidden)
			return
		}
		if !p.noSession {
			http.SetCookie(w, &http.Cookie{Name: "sigil_session", Value: randomHex(8), Path: "/", HttpOnly: true})
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	}
}

func loginPageLoader(t *testing.T, h http.Handler) *loader {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tgt, err := resolveTarget(context.Background(), srv.URL, systemLookup)
	if err != nil {
		t.Fatal(err)
	}
	return &loader{base: tgt.base, client: tgt.client(2), email: "u@example.com", password: "pw"}
}

// loginpage counts one ok per GET + POST that set a session cookie;
// loginpage-post fetches the form once and posts it again and again.
func TestLoginPageScenarios(t *testing.T) {
	for _, name := range []string{"loginpage", "loginpage-post"} {
		p := &fakeLoginPage{}
		l := loginPageLoader(t, p)
		sc := scenarios[name]
		mk, err := sc.prepare(context.Background(), l, 2)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res := run(context.Background(), name, 2, 200*time.Millisecond, 0, sc.want, mk)
		if res.OK < 3 || res.Errors != 0 || p.bad.Load() != 0 {
			t.Fatalf("%s: ok %d errors %d (%s), bad requests %d", name, res.OK, res.Errors, res.FirstErr, p.bad.Load())
		}
		gets, posts := p.gets.Load(), p.posts.Load()
		if name == "loginpage" && gets != posts {
			t.Fatalf("loginpage: %d GETs for %d POSTs", gets, posts)
		}
		if name == "loginpage-post" && gets != 1 {
			t.Fatalf("loginpage-post: %d GETs, want the form fetched once", gets)
		}
	}
}

// A 303 that does not set the session cookie is not a sign-in.
func TestLoginPageWithoutSessionCookieFails(t *testing.T) {
	l := loginPageLoader(t, &fakeLoginPage{noSession: true})
	if _, err := scenarios["loginpage"].prepare(context.Background(), l, 1); err == nil {
		t.Fatal("a redirect without a session cookie counted as a sign-in")
	}
}

// A page that sheds load (503) is counted as refused, not as an error.
func TestLoginPageRefusalsAreCounted(t *testing.T) {
	p := &fakeLoginPage{}
	var n atomic.Int64
	l := loginPageLoader(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && n.Add(1) > 1 { // the probe passes
			w.Header().Set("Retry-After", "5")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		p.ServeHTTP(w, r)
	}))
	mk, err := scenarios["loginpage"].prepare(context.Background(), l, 2)
	if err != nil {
		t.Fatal(err)
	}
	res := run(context.Background(), "loginpage", 2, 200*time.Millisecond, 0, http.StatusSeeOther, mk)
	if res.OK != 0 || res.Refused < 2 || res.Errors != 0 {
		t.Fatalf("ok %d refused %d errors %d", res.OK, res.Refused, res.Errors)
	}
}

func TestOverloadTakesTheLoginPage(t *testing.T) {
	for _, s := range []string{"loginpage", "loginpage-post", "login,loginpage"} {
		if _, _, err := parseOptions([]string{"-scenario", s, "-c", "16", "-overload", "4,16,60"}, io.Discard); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, _, err := parseOptions([]string{"-scenario", "login,jwks", "-c", "16", "-overload", "4"}, io.Discard); err == nil {
		t.Error("login,jwks accepted")
	}
}
