package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// sessionCookie returns the browser's session cookie value.
func (b *browserless) sessionCookie() string {
	b.t.Helper()
	u, _ := url.Parse(b.origin)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "sigil_session" {
			return c.Value
		}
	}
	return ""
}

// withSessionCookie returns a new browser holding only the session cookie
// value.
func withSessionCookie(t *testing.T, origin, value string) *browserless {
	b := newBrowserless(t, origin)
	u, _ := url.Parse(origin)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sigil_session", Value: value, Path: "/"}})
	return b
}

// wantSession checks whether a session cookie value still opens the
// account page.
func wantSession(t *testing.T, origin, value string, live bool, what string) {
	t.Helper()
	p := withSessionCookie(t, origin, value).get(origin + "/account")
	if got := p.Status == http.StatusOK; got != live {
		t.Errorf("%s: the account page answered %d %s (live %v, want %v)", what, p.Status, p.Header.Get("Location"), got, live)
	}
}

// The browser-session cookie is replaced at every sign-in and step-up
// (session fixation): signing in again for prompt=login and stepping up
// to a second factor each set a new value, keep the session's sid, and
// the value they replaced no longer gives a session. On both stores.
func TestSessionCookieReplacedAtEverySignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		f := newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))
		b := f.signedIn(t)
		first := b.sessionCookie()
		if first == "" {
			t.Fatal("no session cookie after signing in")
		}
		wantSession(t, f.iss, first, true, "the first cookie")

		// Signing in again (prompt=login), the same user.
		login := b.get(f.authorizeURL(f.pubID, withPKCE(url.Values{"prompt": {"login"}})))
		if p := b.signIn(login, userEmail, userPassword); p.Status != http.StatusSeeOther || !p.Location().Query().Has("code") {
			t.Fatalf("sign in again: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
		}
		second := b.sessionCookie()
		if second == "" || second == first {
			t.Fatalf("signing in again kept the cookie value")
		}
		wantSession(t, f.iss, first, false, "the cookie replaced by signing in again")
		wantSession(t, f.iss, second, true, "the cookie of signing in again")

		// Step-up to a second factor.
		secret, _ := enrolTOTP(t, f.s, f.s.login(t, userEmail, userPassword).Token, userPassword, clock)
		login = b.get(f.authorizeURL(f.pubID, withPKCE(url.Values{"acr_values": {"urn:sigil:acr:mfa"}})))
		step := b.signIn(login, userEmail, userPassword)
		if !strings.Contains(step.Body, `name="mfa_token"`) {
			t.Fatalf("no second-factor step: %d\n%.300s", step.Status, step.Body)
		}
		if b.sessionCookie() != second {
			t.Fatalf("the password alone changed the session before the second factor")
		}
		form := hidden(step)
		clock.Add(30 * time.Second)
		form.Set("code", totpCode(t, secret, clock.Now()))
		if p := b.post(f.iss+"/login/mfa", form); !p.Location().Query().Has("code") {
			t.Fatalf("step-up: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
		}
		third := b.sessionCookie()
		if third == "" || third == second {
			t.Fatalf("the step-up kept the cookie value")
		}
		wantSession(t, f.iss, second, false, "the cookie replaced by the step-up")
		wantSession(t, f.iss, third, true, "the cookie of the step-up")
	})
}

// rawIDToken runs the code flow of the public client clientID in b and
// returns the ID token.
func (f *oidcFixture) rawIDToken(t *testing.T, b *browserless, clientID string) string {
	t.Helper()
	verifier, challenge := pkce()
	p := b.get(f.authorizeURL(clientID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	code := p.Location().Query().Get("code")
	if code == "" {
		t.Fatalf("authorize: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	st, _, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {clientID}})
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %s", st, body)
	}
	var a codeAnswer
	decode(t, body, &a)
	return a.IDToken
}

// An id_token_hint naming another user than the browser session's gets
// the confirmation page and signs nobody out; the session user's own hint
// still signs out at once. On both stores.
func TestLogoutHintOfAnotherUserAsksFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		appID, _ := f.s.oidcClient(t, f.admin, map[string]any{"name": "Notes", "public": true, "firstParty": true,
			"redirectUris": []string{f.redirect}, "postLogoutRedirectUris": []string{"http://127.0.0.1:9/bye"}})
		f.s.signupLogin(t, "mallory@example.com", userPassword)
		other := newBrowserless(t, f.iss)
		other.signIn(other.get(f.iss+"/login"), "mallory@example.com", userPassword)
		foreign := f.rawIDToken(t, other, appID)

		b := f.signedIn(t)
		own := f.rawIDToken(t, b, appID)
		logout := func(hint string) page {
			return b.get(f.iss + "/oauth2/logout?" + url.Values{"id_token_hint": {hint},
				"post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s1"}}.Encode())
		}
		p := logout(foreign)
		if p.Status != http.StatusOK || strings.Count(p.Body, `type="submit"`) != 1 {
			t.Fatalf("another user's hint: %d %s, want the confirmation page\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if st := b.get(f.iss + "/account").Status; st != http.StatusOK {
			t.Fatalf("another user's hint signed the browser out: account page %d", st)
		}
		if st := other.get(f.iss + "/account").Status; st != http.StatusOK {
			t.Fatalf("another user's hint signed its user out: account page %d", st)
		}
		p = logout(own)
		if p.Status != http.StatusFound || p.Header.Get("Location") != "http://127.0.0.1:9/bye?state=s1" {
			t.Fatalf("own hint: %d %s, want an immediate sign-out", p.Status, p.Header.Get("Location"))
		}
		if st := b.get(f.iss + "/account").Status; st != http.StatusSeeOther {
			t.Errorf("after signing out: account page %d", st)
		}
	})
}
