package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Every error path of the authorization endpoint: an untrusted client or
// redirect URI gets a page and is never redirected to; every other error
// goes back to the client with error, state and iss.
func TestAuthorizeErrorPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := newBrowserless(t, f.iss)
		_, challenge := pkce()
		s256 := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		with := func(kv ...string) url.Values {
			v := url.Values{}
			for k, vs := range s256 {
				v[k] = vs
			}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		wantErrorPage(t, "unknown client", b.get(f.authorizeURL("no-such-client", s256)))
		wantErrorPage(t, "unregistered redirect URI", b.get(f.authorizeURL(f.pubID, with("redirect_uri", "http://127.0.0.1:9/evil"))))
		wantErrorPage(t, "redirect URI differing in case", b.get(f.authorizeURL(f.pubID, with("redirect_uri", "http://127.0.0.1:9/Callback"))))
		wantErrorPage(t, "missing redirect URI", b.get(f.authorizeURL(f.pubID, with("redirect_uri", ""))))
		wantErrorPage(t, "missing client_id", b.get(f.iss+"/oauth2/authorize?response_type=code&redirect_uri="+url.QueryEscape(f.redirect)))
		wantErrorPage(t, "repeated redirect_uri", b.get(f.authorizeURL(f.pubID, s256)+"&redirect_uri="+url.QueryEscape(f.redirect)))

		f.wantRedirectError(t, "public client without PKCE", b.get(f.authorizeURL(f.pubID, nil)), "invalid_request")
		f.wantRedirectError(t, "PKCE plain", b.get(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}})), "invalid_request")
		f.wantRedirectError(t, "challenge without method", b.get(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}})), "invalid_request")
		f.wantRedirectError(t, "short challenge", b.get(f.authorizeURL(f.pubID, with("code_challenge", "abc"))), "invalid_request")
		f.wantRedirectError(t, "response_type token", b.get(f.authorizeURL(f.pubID, with("response_type", "token"))), "unsupported_response_type")
		f.wantRedirectError(t, "missing response_type", b.get(f.authorizeURL(f.pubID, with("response_type", ""))), "invalid_request")
		f.wantRedirectError(t, "response_mode fragment", b.get(f.authorizeURL(f.pubID, with("response_mode", "fragment"))), "invalid_request")
		f.wantRedirectError(t, "scope not allowed", b.get(f.authorizeURL(f.pubID, with("scope", "openid admin:everything"))), "invalid_scope")
		f.wantRedirectError(t, "prompt none and login", b.get(f.authorizeURL(f.pubID, with("prompt", "none login"))), "invalid_request")
		f.wantRedirectError(t, "unknown prompt", b.get(f.authorizeURL(f.pubID, with("prompt", "select_account"))), "invalid_request")
		f.wantRedirectError(t, "negative max_age", b.get(f.authorizeURL(f.pubID, with("max_age", "-1"))), "invalid_request")
		f.wantRedirectError(t, "request object", b.get(f.authorizeURL(f.pubID, with("request", "eyJ.x.y"))), "request_not_supported")
		f.wantRedirectError(t, "repeated scope", b.get(f.authorizeURL(f.pubID, s256)+"&scope=openid"), "invalid_request")
		f.wantRedirectError(t, "prompt=none without a session", b.get(f.authorizeURL(f.pubID, with("prompt", "none"))), "login_required")

		// A client_credentials-only client cannot start the flow: it has no
		// redirect URIs, so the request is refused on a page.
		ccID, _ := f.s.createClient(t, f.admin, map[string]any{"name": "batch", "audience": "api"})
		wantErrorPage(t, "client without the flow", b.get(f.authorizeURL(ccID, s256)))

		// The private-use scheme of a native app is a valid redirect.
		p := b.get(f.authorizeURL(f.pubID, with("redirect_uri", "com.example.app:/cb")))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) {
			t.Errorf("native redirect URI: %d %.200s", p.Status, p.Body)
		}
	})
}

// prompt=login and max_age ask for a fresh sign-in; the session keeps its
// id (the sid every client sees) and gets a new auth_time.
func TestPromptLoginAndMaxAge(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	f := newOIDCFixtureEnv(t, env, startServerClock(t, env, now))
	b := f.signedIn(t)
	idClaims := func(code, verifier string) map[string]any {
		st, _, body := f.exchange(t, code, verifier)
		if st != http.StatusOK {
			t.Fatalf("exchange: %d %s", st, body)
		}
		var a codeAnswer
		decode(t, body, &a)
		return verifyWithJWKS(t, f.s, a.IDToken)
	}
	first := idClaims(f.code(t, b, nil))

	offset.Store(int64(10 * time.Minute))
	_, challenge := pkce()
	for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"300"}}} {
		extra.Set("code_challenge", challenge)
		extra.Set("code_challenge_method", "S256")
		p := b.get(f.authorizeURL(f.pubID, extra))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="`+userEmail+`"`) {
			t.Fatalf("%v: %d, want the sign-in page with the email filled in\n%.300s", extra, p.Status, p.Body)
		}
	}
	// max_age large enough: a code at once.
	code, verifier := f.code(t, b, url.Values{"max_age": {"3600"}})
	if c := idClaims(code, verifier); c["auth_time"] != first["auth_time"] {
		t.Errorf("max_age satisfied changed auth_time")
	}
	// prompt=none with max_age exceeded: login_required.
	f.wantRedirectError(t, "prompt=none past max_age", b.get(f.authorizeURL(f.pubID, url.Values{"prompt": {"none"}, "max_age": {"60"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}})), "login_required")

	// Signing in again through prompt=login keeps the session.
	verifier, challenge = pkce()
	login := b.get(f.authorizeURL(f.pubID, url.Values{"prompt": {"login"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	p := b.signIn(login, userEmail, userPassword)
	code = p.Location().Query().Get("code")
	if p.Status != http.StatusSeeOther || code == "" {
		t.Fatalf("sign in again: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	again := idClaims(code, verifier)
	if again["sid"] != first["sid"] || again["auth_time"].(float64) <= first["auth_time"].(float64) {
		t.Errorf("re-authentication: sid %v→%v auth_time %v→%v", first["sid"], again["sid"], first["auth_time"], again["auth_time"])
	}
}
