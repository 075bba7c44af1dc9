package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// reachFixture is a server with a first-party public client of the
// browser flow whose tokens are for the API "reach-api", and that API's
// own client, which introspects them as a resource server would.
type reachFixture struct {
	s                *server
	iss, admin       string
	redirect, appID  string
	apiID, apiSecret string
}

func newReachFixture(t *testing.T, dbURL string, extra map[string]string) *reachFixture {
	t.Helper()
	env := browserEnv(t, dbURL, extra)
	f := &reachFixture{s: startServer(t, env), iss: env["SIGIL_ISSUER"], redirect: "http://127.0.0.1:9/callback"}
	f.admin = f.s.adminToken(t)
	f.appID, _ = f.s.oidcClient(t, f.admin, map[string]any{"name": "App", "public": true, "firstParty": true,
		"redirectUris": []string{f.redirect}, "audience": "reach-api"})
	f.apiID, f.apiSecret = f.s.createClient(t, f.admin, map[string]any{"name": "Reach API", "audience": "reach-api"})
	return f
}

// user signs a new account up and returns its email and id.
func (f *reachFixture) user(t *testing.T, prefix, password string) (string, string) {
	t.Helper()
	email := uniqueEmail(prefix)
	return email, f.s.signupLogin(t, email, password).UserID
}

// signIn signs email in on the hosted login page of a new browser.
func (f *reachFixture) signIn(t *testing.T, email, password string) *browserless {
	t.Helper()
	b := newBrowserless(t, f.iss)
	if p := b.signIn(b.get(f.iss+"/login"), email, password); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account" {
		t.Fatalf("sign in %s: %d %s\n%.300s", email, p.Status, p.Header.Get("Location"), p.Body)
	}
	return b
}

// code runs the authorization request of the app in browser b and
// returns the code and its PKCE verifier.
func (f *reachFixture) code(t *testing.T, b *browserless) (string, string) {
	t.Helper()
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {f.appID}, "redirect_uri": {f.redirect}, "scope": {"openid email"},
		"state": {"st"}, "nonce": {"n"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	p := b.get(f.iss + "/oauth2/authorize?" + q.Encode())
	code := p.Location().Query().Get("code")
	if p.Status != http.StatusFound || code == "" {
		t.Fatalf("authorize: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return code, verifier
}

func (f *reachFixture) exchange(t *testing.T, code, verifier string) (int, []byte) {
	t.Helper()
	st, _, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {f.appID}})
	return st, body
}

// codeToken runs the whole code flow in b without offline_access: an
// access token and no refresh token, which works at userinfo.
func (f *reachFixture) codeToken(t *testing.T, b *browserless) string {
	t.Helper()
	code, verifier := f.code(t, b)
	st, body := f.exchange(t, code, verifier)
	if st != http.StatusOK {
		t.Fatalf("code exchange: %d %s", st, body)
	}
	var ans codeAnswer
	decode(t, body, &ans)
	if ans.AccessToken == "" || ans.RefreshToken != "" {
		t.Fatalf("code exchange without offline_access: %s", body)
	}
	if st, _, body := f.s.get(t, "/oauth2/userinfo", bearer(ans.AccessToken)...); st != http.StatusOK {
		t.Fatalf("userinfo with a fresh code-flow token: %d %s", st, body)
	}
	if !f.active(t, ans.AccessToken) {
		t.Fatal("a fresh code-flow token is not active at introspection")
	}
	return ans.AccessToken
}

// active introspects tok as the API's client (RFC 7662).
func (f *reachFixture) active(t *testing.T, tok string) bool {
	t.Helper()
	st, _, body := f.s.postForm(t, "/oauth2/introspect", url.Values{"token": {tok}}, basic(f.apiID, f.apiSecret)...)
	if st != http.StatusOK {
		t.Fatalf("introspect: %d %s", st, body)
	}
	var in struct{ Active bool }
	decode(t, body, &in)
	return in.Active
}

// waitEnded waits until tok is refused at userinfo and inactive at
// introspection, within the deny list's reach.
func (f *reachFixture) waitEnded(t *testing.T, tok, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, h, body := f.s.get(t, "/oauth2/userinfo", bearer(tok)...)
		if st == http.StatusUnauthorized && !f.active(t, tok) {
			if !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: userinfo challenge %q", what, h.Get("WWW-Authenticate"))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the code-flow access token still works: userinfo %d %s, active %v", what, st, body, f.active(t, tok))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *reachFixture) adminPost(t *testing.T, what, path string) {
	t.Helper()
	if st, _, body := f.s.postJSON(t, path, nil, bearer(f.admin)...); st/100 != 2 {
		t.Fatalf("%s: %d %s", what, st, body)
	}
}

// An access token issued by an authorization code with no refresh token
// ends with its user's sessions, as every other access token does: after
// "sign out everywhere" (REST and an administrator's), a password change
// made elsewhere, a lock, a role removal and a deletion it is refused at
// userinfo and inactive at introspection. Before, such a token carried a
// family no refresh token had, which nothing denied.
func TestCodeFlowTokensEndWithTheirUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newReachFixture(t, dbURL, nil)
		const pw = "a long enough password"
		email, id := f.user(t, "reach", pw)
		b := f.signIn(t, email, pw)

		tok := f.codeToken(t, b)
		rest := f.s.login(t, email, pw)
		if st, _, body := f.s.postJSON(t, "/auth/sessions/revoke-all", nil, bearer(rest.Token)...); st != http.StatusNoContent {
			t.Fatalf("revoke-all: %d %s", st, body)
		}
		f.waitEnded(t, tok, "after sign out everywhere")

		b = f.signIn(t, email, pw)
		tok = f.codeToken(t, b)
		f.adminPost(t, "admin sign-out everywhere", "/admin/users/"+id+"/sessions/revoke-all")
		f.waitEnded(t, tok, "after the administrator's sign out everywhere")

		// A password change through the REST API spares the session it
		// came from, not the browser's.
		b = f.signIn(t, email, pw)
		tok = f.codeToken(t, b)
		rest = f.s.login(t, email, pw)
		const pw2 = "another long password"
		if st, _, body := f.s.postJSON(t, "/auth/password", map[string]string{"currentPassword": pw, "newPassword": pw2}, bearer(rest.Token)...); st != http.StatusNoContent {
			t.Fatalf("password change: %d %s", st, body)
		}
		f.waitEnded(t, tok, "after a password change elsewhere")
		if st, _, body := f.s.get(t, "/auth/me", bearer(rest.Token)...); st != http.StatusOK {
			t.Fatalf("the session that changed the password: %d %s", st, body)
		}

		// Adding a role ends nothing; removing one ends every token.
		b = f.signIn(t, email, pw2)
		tok = f.codeToken(t, b)
		setRoles := func(roles ...string) {
			t.Helper()
			if st, _, body := f.s.send(t, http.MethodPut, "/admin/users/"+id+"/roles", map[string]any{"roles": roles}, bearer(f.admin)...); st/100 != 2 {
				t.Fatalf("set roles %v: %d %s", roles, st, body)
			}
		}
		setRoles("ops", "billing")
		if st, _, body := f.s.get(t, "/oauth2/userinfo", bearer(tok)...); st != http.StatusOK || !f.active(t, tok) {
			t.Fatalf("after a role was added: userinfo %d %s", st, body)
		}
		setRoles("ops")
		f.waitEnded(t, tok, "after a role was removed")

		b = f.signIn(t, email, pw2)
		tok = f.codeToken(t, b)
		f.adminPost(t, "lock", "/admin/users/"+id+"/lock")
		f.waitEnded(t, tok, "after the account was locked")
		f.adminPost(t, "unlock", "/admin/users/"+id+"/unlock")

		b = f.signIn(t, email, pw2)
		tok = f.codeToken(t, b)
		if st, _, body := do(t, http.MethodDelete, f.s.Base+"/admin/users/"+id, "", "", bearer(f.admin)...); st != http.StatusNoContent {
			t.Fatalf("delete: %d %s", st, body)
		}
		f.waitEnded(t, tok, "after the account was deleted")
	})
}

// Ending one browser session (the hosted sign-out, or the account API's
// DELETE /auth/sessions/{id}) ends the code-flow access tokens issued in
// it, and only those.
func TestBrowserSignOutEndsItsCodeFlowTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newReachFixture(t, dbURL, nil)
		const pw = "a long enough password"
		email, _ := f.user(t, "signout", pw)

		b1, b2 := f.signIn(t, email, pw), f.signIn(t, email, pw)
		tok1, tok2 := f.codeToken(t, b1), f.codeToken(t, b2)
		p := b1.get(f.iss + "/oauth2/logout")
		f2 := hidden(p)
		if p.Status != http.StatusOK || f2.Get("csrf_token") == "" {
			t.Fatalf("logout confirmation: %d\n%.300s", p.Status, p.Body)
		}
		if p := b1.post(f.iss+"/oauth2/logout", f2); p.Status >= 400 {
			t.Fatalf("logout: %d\n%.300s", p.Status, p.Body)
		}
		f.waitEnded(t, tok1, "after the hosted sign-out")
		if st, _, body := f.s.get(t, "/oauth2/userinfo", bearer(tok2)...); st != http.StatusOK {
			t.Fatalf("the other browser's token after one signed out: %d %s", st, body)
		}

		// The other browser's session, ended from the account API.
		rest := f.s.login(t, email, pw)
		st, _, body := f.s.get(t, "/auth/sessions", bearer(rest.Token)...)
		var list struct {
			Sessions []struct{ ID, Kind string }
		}
		decode(t, body, &list)
		ended := 0
		for _, s := range list.Sessions {
			if s.Kind == "browser" {
				if st, _, body := do(t, http.MethodDelete, f.s.Base+"/auth/sessions/"+url.PathEscape(s.ID), "", "", bearer(rest.Token)...); st != http.StatusNoContent {
					t.Fatalf("DELETE /auth/sessions/%s: %d %s", s.ID, st, body)
				}
				ended++
			}
		}
		if st != http.StatusOK || ended != 1 {
			t.Fatalf("sessions: %d, %d browser sessions ended, want 1: %s", st, ended, body)
		}
		f.waitEnded(t, tok2, "after DELETE /auth/sessions/{id} of its browser session")
	})
}

// A code issued before its user was locked, or before its browser
// session ended, is refused at the token endpoint (invalid_grant), and
// so is a code issued before the account was deleted.
func TestCodeIssuedBeforeALockIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newReachFixture(t, dbURL, nil)
		const pw = "a long enough password"
		email, id := f.user(t, "code", pw)
		wantInvalidGrant := func(what, code, verifier string) {
			t.Helper()
			st, body := f.exchange(t, code, verifier)
			var e oauthErr
			decode(t, body, &e)
			if st != http.StatusBadRequest || e.Error != "invalid_grant" {
				t.Fatalf("%s: %d %s, want 400 invalid_grant", what, st, body)
			}
		}

		b := f.signIn(t, email, pw)
		code, verifier := f.code(t, b)
		f.adminPost(t, "lock", "/admin/users/"+id+"/lock")
		wantInvalidGrant("a code issued before a lock", code, verifier)
		f.adminPost(t, "unlock", "/admin/users/"+id+"/unlock")

		// The session ended (signed out everywhere), the account unlocked.
		b = f.signIn(t, email, pw)
		code, verifier = f.code(t, b)
		rest := f.s.login(t, email, pw)
		if st, _, body := f.s.postJSON(t, "/auth/sessions/revoke-all", nil, bearer(rest.Token)...); st != http.StatusNoContent {
			t.Fatalf("revoke-all: %d %s", st, body)
		}
		wantInvalidGrant("a code of a browser session signed out", code, verifier)

		// A code of a live session still works.
		b = f.signIn(t, email, pw)
		f.codeToken(t, b)
		code, verifier = f.code(t, b)
		if st, _, body := do(t, http.MethodDelete, f.s.Base+"/admin/users/"+id, "", "", bearer(f.admin)...); st != http.StatusNoContent {
			t.Fatalf("delete: %d %s", st, body)
		}
		wantInvalidGrant("a code issued before the account was deleted", code, verifier)
	})
}
