package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// The console asks for acr_values=urn:sigil:acr:mfa: an administrator
// who enrolled a second factor after their browser session signed in with
// the password alone is sent through the sign-in with the second factor
// before the console opens, instead of getting a code from that session.
// On both stores.
func TestConsoleAsksAdminForSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		s := startServerClock(t, env, clock.Now)
		iss := env["SIGIL_ISSUER"]
		b := newBrowserless(t, iss)
		if p := b.signIn(b.get(iss+"/login"), adminEmail, adminPassword); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d\n%.300s", p.Status, p.Body)
		}
		secret, _ := enrolTOTP(t, s, s.login(t, adminEmail, adminPassword).Token, adminPassword, clock)

		start := b.get(iss + "/console/")
		authz := start.Location()
		if start.Status != http.StatusSeeOther || authz.Path != "/oauth2/authorize" || authz.Query().Get("acr_values") != "urn:sigil:acr:mfa" {
			t.Fatalf("console sign-in: %d %s, want an authorization request with acr_values", start.Status, authz)
		}
		login := b.get(authz.String())
		if login.Status != http.StatusOK || !strings.Contains(login.Body, `name="password"`) {
			t.Fatalf("password-only session: %d %s, want the sign-in page", login.Status, login.Header.Get("Location"))
		}
		step := b.signIn(login, adminEmail, adminPassword)
		if !strings.Contains(step.Body, `name="mfa_token"`) {
			t.Fatalf("no second-factor step: %d\n%.300s", step.Status, step.Body)
		}
		form := hidden(step)
		clock.Add(30 * time.Second)
		form.Set("code", totpCode(t, secret, clock.Now()))
		back := b.post(iss+"/login/mfa", form)
		if back.Location() == nil || back.Location().Path != "/console/callback" {
			t.Fatalf("after the second factor: %d %s", back.Status, back.Header.Get("Location"))
		}
		if p := b.get(back.Location().String()); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/" {
			t.Fatalf("callback: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if p := b.get(iss + "/console/"); p.Status != http.StatusOK || !strings.Contains(p.Body, adminEmail) {
			t.Fatalf("console: %d\n%.300s", p.Status, p.Body)
		}
	})
}
