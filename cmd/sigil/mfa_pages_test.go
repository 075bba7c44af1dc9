package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// The hosted sign-in of a user with TOTP asks for the code after the
// password; a wrong code keeps the user on that step, the right one opens
// the browser session, and the tokens of the authorization code flow that
// follows carry amr pwd, otp, mfa.
func TestHostedSignInAsksForTheSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		f := newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))
		secret, _ := enrolTOTP(t, f.s, f.s.login(t, userEmail, userPassword).Token, userPassword, clock)

		b := newBrowserless(t, f.iss)
		step := b.signIn(b.get(f.iss+"/login"), userEmail, userPassword)
		if step.Status != http.StatusOK || !strings.Contains(step.Body, `name="code"`) || strings.Count(step.Body, `type="submit"`) != 1 {
			t.Fatalf("after the password: %d\n%.500s", step.Status, step.Body)
		}
		// No session yet: the account page still wants a sign-in.
		if p := b.get(f.iss + "/account"); p.Status == http.StatusOK {
			t.Fatal("the password alone opened a session")
		}
		form := hidden(step)
		form.Set("code", "000000")
		again := b.post(f.iss+"/login/mfa", form)
		if again.Status != http.StatusUnauthorized || !strings.Contains(again.Body, `name="code"`) {
			t.Fatalf("wrong code: %d\n%.500s", again.Status, again.Body)
		}
		clock.Add(30 * time.Second)
		form = hidden(again)
		form.Set("code", totpCode(t, secret, clock.Now()))
		done := b.post(f.iss+"/login/mfa", form)
		if done.Status != http.StatusSeeOther || done.Header.Get("Location") != "/account" {
			t.Fatalf("right code: %d %s\n%.500s", done.Status, done.Header.Get("Location"), done.Body)
		}
		code, verifier := f.code(t, b, url.Values{"scope": {"openid email"}})
		st, _, body := f.exchange(t, code, verifier)
		if st != http.StatusOK {
			t.Fatalf("exchange: %d %s", st, body)
		}
		var ans struct {
			AccessToken string `json:"access_token"`
			IDToken     string `json:"id_token"`
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatal(err)
		}
		if at := verifyAccessToken(t, f.s, ans.AccessToken, f.pubID); !slices.Equal(at.AMR, []string{"pwd", "otp", "mfa"}) {
			t.Errorf("access token amr %v", at.AMR)
		}
		idc := verifyWithJWKS(t, f.s, ans.IDToken)
		if amr, _ := json.Marshal(idc["amr"]); string(amr) != `["pwd","otp","mfa"]` {
			t.Errorf("ID token amr %s", amr)
		}
		// The spent mfa_token does not sign in a second browser.
		other := newBrowserless(t, f.iss)
		other.get(f.iss + "/login")
		form.Set("csrf_token", hidden(other.get(f.iss+"/login")).Get("csrf_token"))
		if p := other.post(f.iss+"/login/mfa", form); p.Status != http.StatusUnauthorized || strings.Contains(p.Header.Get("Set-Cookie"), "session") {
			t.Errorf("spent mfa_token: %d", p.Status)
		}
	})
}

// With SIGIL_MFA_REQUIRED_ROLES=admin the hosted sign-in of an
// administrator without a second factor opens no session: it shows the
// enrolment page, whose form carries the enrolment token only.
func TestHostedSignInRefusesAnAdminWithoutSecondFactor(t *testing.T) {
	env := browserEnv(t, storetest.SQLiteURL(t), map[string]string{"SIGIL_MFA_REQUIRED_ROLES": "admin"})
	s := startServer(t, env)
	b := newBrowserless(t, env["SIGIL_ISSUER"])
	p := b.signIn(b.get(env["SIGIL_ISSUER"]+"/login"), adminEmail, adminPassword)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "second factor") || !strings.Contains(p.Body, `action="/login/mfa/enroll"`) {
		t.Fatalf("admin sign-in: %d\n%.500s", p.Status, p.Body)
	}
	if p := b.get(s.Issuer + "/account"); p.Status == http.StatusOK {
		t.Fatal("a session was opened")
	}
	// A wrong first code opens none either, and an unknown token is refused.
	form := hidden(p)
	form.Set("code", "000000")
	if again := b.post(s.Issuer+"/login/mfa/enroll", form); again.Status != http.StatusUnprocessableEntity || !strings.Contains(again.Body, `role="alert"`) {
		t.Fatalf("wrong first code: %d\n%.500s", again.Status, again.Body)
	}
	form.Set("mfa_token", "not-a-token")
	if again := b.post(s.Issuer+"/login/mfa/enroll", form); again.Status != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d\n%.500s", again.Status, again.Body)
	}
	if p := b.get(s.Issuer + "/account"); p.Status == http.StatusOK {
		t.Fatal("a session was opened")
	}
}

// A client created with requireMfa gets codes only for browser sessions
// signed in with a second factor: a user without one is refused
// (access_denied), a user with one who signed in with the password alone
// is sent through the sign-in again, second factor included.
func TestClientRequiringMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		f := newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))
		strictID, _ := f.s.oidcClient(t, f.admin, map[string]any{"name": "Payroll", "public": true, "firstParty": true,
			"redirectUris": []string{f.redirect}, "requireMfa": true})
		_, _, listed := f.s.get(t, "/admin/clients", bearer(f.admin)...)
		if !strings.Contains(string(listed), `"requireMfa":true`) {
			t.Errorf("GET /admin/clients does not show requireMfa: %s", listed)
		}
		_, challenge := pkce()
		pk := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}

		b := f.signedIn(t) // password only: the user has no second factor yet
		f.wantRedirectError(t, "no second factor", b.get(f.authorizeURL(strictID, pk)), "access_denied")

		secret, _ := enrolTOTP(t, f.s, f.s.login(t, userEmail, userPassword).Token, userPassword, clock)
		// The password-only session is not enough for this client...
		login := b.get(f.authorizeURL(strictID, pk))
		if login.Status != http.StatusOK || !strings.Contains(login.Body, `name="password"`) {
			t.Fatalf("password-only session: %d\n%.300s", login.Status, login.Body)
		}
		f.wantRedirectError(t, "prompt=none", b.get(f.authorizeURL(strictID, url.Values{"code_challenge": {challenge},
			"code_challenge_method": {"S256"}, "prompt": {"none"}})), "login_required")
		// ...signing in again with the second factor is.
		step := b.signIn(login, userEmail, userPassword)
		form := hidden(step)
		if form.Get("mfa_token") == "" || form.Get("authz") == "" {
			t.Fatalf("second-factor step: %d\n%.500s", step.Status, step.Body)
		}
		clock.Add(30 * time.Second)
		form.Set("code", totpCode(t, secret, clock.Now()))
		done := b.post(f.iss+"/login/mfa", form)
		if (done.Status != http.StatusFound && done.Status != http.StatusSeeOther) || done.Location().Query().Get("code") == "" || !strings.HasPrefix(done.Location().String(), f.redirect) {
			t.Fatalf("after the second factor: %d %s\n%.300s", done.Status, done.Header.Get("Location"), done.Body)
		}
	})
}
