package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// addVirtualAuthenticator gives the tab a platform authenticator that
// keeps discoverable credentials and verifies its user, as a phone or a
// laptop with a fingerprint reader does.
func addVirtualAuthenticator(t *testing.T, tab context.Context) webauthn.AuthenticatorID {
	t.Helper()
	var id webauthn.AuthenticatorID
	runBrowser(t, tab, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true}).Do(ctx)
		return err
	}))
	return id
}

// signOutInBrowser signs out from the account page on screen.
func signOutInBrowser(t *testing.T, tab context.Context, iss string) {
	t.Helper()
	runBrowser(t, tab,
		chromedp.WaitVisible(`form[action="/oauth2/logout"] button[type=submit]`),
		chromedp.Click(`form[action="/oauth2/logout"] button[type=submit]`),
		chromedp.WaitNotPresent(`button[name=add-passkey]`),
		chromedp.Navigate(iss+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
	)
}

// A person adds a passkey on the account page with Chromium's virtual
// authenticator (a wrong password first adds nothing), signs in with it
// and no password, renames it, signs in
// with the password and the passkey as second factor, removes it (the
// same authenticator is then refused), and a second authenticator that
// never registered signs no one in. On both stores.
func TestPasskeyPagesInBrowser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		u := s.signupLogin(t, "noor@example.com", "a long enough password")
		tab := newTabFor(t, 5*time.Minute)
		runBrowser(t, tab, webauthn.Enable())
		first := addVirtualAuthenticator(t, tab)

		var text string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/login"),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.WaitVisible(`button[name=passkey]`), // shown by the script
			chromedp.SendKeys(`input[name=email]`, "noor@example.com"),
			chromedp.SendKeys(`input[name=password]`, "a long enough password"),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`button[name=add-passkey]`),
		)
		// Adding one needs the password: a wrong one adds nothing.
		if f := passwordFieldOf(t, tab, "add-passkey"); f.Type != "password" {
			t.Fatalf("the add-passkey form has no password field: %+v", f)
		}
		runBrowser(t, tab,
			chromedp.SendKeys(`#passkey_name`, "Phone"),
			chromedp.SendKeys(`#passkey_password`, "not the password"),
			chromedp.Click(`button[name=add-passkey]`),
			chromedp.WaitVisible(`#passkey-error`),
			chromedp.Text(`#passkey-error`, &text),
		)
		screenshot(t, tab, "add-passkey-wrong-password")
		if !strings.Contains(text, "password is not right") {
			t.Errorf("alert after a wrong password: %q", text)
		}
		if n := countRowsWhere(t, dbURL, "webauthn_credentials", "user_id = '"+u.UserID+"'"); n != 0 {
			t.Fatalf("a wrong password added %d passkey(s)", n)
		}
		runBrowser(t, tab,
			chromedp.Evaluate(`document.querySelector("#passkey_password").value = ""`, nil),
			chromedp.SendKeys(`#passkey_password`, "a long enough password"),
			chromedp.Click(`button[name=add-passkey]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "passkey is added")]`, chromedp.BySearch),
			chromedp.Text(`ul.passkeys`, &text),
		)
		screenshot(t, tab, "account-passkeys")
		if !strings.Contains(text, "Phone") {
			t.Fatalf("passkeys on the account page:\n%s", text)
		}
		if n := countRowsWhere(t, dbURL, "webauthn_credentials", "user_id = '"+u.UserID+"' AND name = 'Phone'"); n != 1 {
			t.Fatalf("stored passkeys: %d", n)
		}

		// Sign in with the passkey alone.
		signOutInBrowser(t, tab, iss)
		screenshot(t, tab, "login-with-passkey")
		runBrowser(t, tab,
			chromedp.Click(`button[name=passkey]`),
			chromedp.WaitVisible(`button[name=add-passkey]`),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "noor@example.com") {
			t.Fatalf("after the passkey sign-in:\n%s", text)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.success' AND user_id = '"+u.UserID+"' AND detail LIKE '%hwk user mfa%'"); n != 1 {
			t.Errorf("passkey sign-in events: %d", n)
		}

		// Rename it.
		runBrowser(t, tab,
			chromedp.Evaluate(`document.querySelector("ul.passkeys input[name=name]").value = ""`, nil),
			chromedp.SendKeys(`ul.passkeys input[name=name]`, "Work phone"),
			chromedp.Click(`button[name=rename-passkey]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "renamed")]`, chromedp.BySearch),
			chromedp.Text(`ul.passkeys .passkey-name`, &text),
		)
		if text != "Work phone" {
			t.Errorf("renamed to %q", text)
		}

		// The password, then the passkey as second factor.
		signOutInBrowser(t, tab, iss)
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=email]`, "noor@example.com"),
			chromedp.SendKeys(`input[name=password]`, "a long enough password"),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			// The sign-in page has a passkey form too: wait for the second
			// step's own (it carries the mfa_token) before using it.
			chromedp.WaitReady(`form[action="/login/passkey"] input[name=mfa_token]`),
			chromedp.WaitVisible(`form[action="/login/passkey"] button[name=passkey]`),
		)
		screenshot(t, tab, "second-factor-passkey")
		runBrowser(t, tab,
			chromedp.Click(`button[name=passkey]`),
			chromedp.WaitVisible(`button[name=add-passkey]`),
		)
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.success' AND user_id = '"+u.UserID+"' AND detail LIKE '%pwd hwk mfa%'"); n != 1 {
			t.Errorf("second-factor passkey events: %d", n)
		}

		// Removing it needs the password: a wrong one removes nothing.
		runBrowser(t, tab,
			chromedp.SendKeys(`form.remove-passkey input[name=password]`, "not the password"),
			chromedp.Click(`button[name=remove-passkey]`),
			chromedp.WaitVisible(`//div[@role="alert" and contains(., "passkey was not removed")]`, chromedp.BySearch),
		)
		screenshot(t, tab, "passkey-remove-wrong-password")
		if n := countRowsWhere(t, dbURL, "webauthn_credentials", "user_id = '"+u.UserID+"'"); n != 1 {
			t.Fatalf("passkeys after a removal with a wrong password: %d", n)
		}
		// With the right one it goes: the same authenticator no longer
		// signs in.
		runBrowser(t, tab,
			chromedp.SendKeys(`form.remove-passkey input[name=password]`, "a long enough password"),
			chromedp.Click(`button[name=remove-passkey]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "removed")]`, chromedp.BySearch),
		)
		if n := countRowsWhere(t, dbURL, "webauthn_credentials", "user_id = '"+u.UserID+"'"); n != 0 {
			t.Fatalf("passkeys after removal: %d", n)
		}
		signOutInBrowser(t, tab, iss)
		runBrowser(t, tab,
			chromedp.Click(`button[name=passkey]`),
			chromedp.WaitVisible(`div[role=alert]:not([hidden])`),
			chromedp.Text(`div[role=alert]:not([hidden])`, &text),
		)
		if !strings.Contains(text, "not registered") {
			t.Errorf("removed passkey: %s", text)
		}

		// Another authenticator, never registered: nobody is signed in.
		runBrowser(t, tab, webauthn.RemoveVirtualAuthenticator(first))
		addVirtualAuthenticator(t, tab)
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/login"),
			chromedp.WaitVisible(`button[name=passkey]`),
			chromedp.Click(`button[name=passkey]`),
			chromedp.WaitVisible(`#passkey-error:not([hidden])`),
			chromedp.Text(`#passkey-error`, &text),
		)
		screenshot(t, tab, "unknown-authenticator")
		if !strings.Contains(text, "passkey") {
			t.Errorf("unregistered authenticator: %s", text)
		}
		b := newBrowserless(t, iss)
		if p := b.get(iss + "/account"); p.Status == http.StatusOK {
			t.Error("a session without a cookie?")
		}
		var loc string
		runBrowser(t, tab, chromedp.Navigate(iss+"/account"), chromedp.Location(&loc))
		if !strings.HasSuffix(loc, "/login") {
			t.Errorf("the unregistered authenticator signed in: at %s", loc)
		}
	})
}

// Without the script (or WebAuthn) the pages keep working: the passkey
// sign-in is hidden, and a post without an authenticator's answer is
// refused with a clear message, not an error page.
func TestPasskeyPagesWithoutScript(t *testing.T) {
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	s := startServer(t, env)
	s.signupLogin(t, "ola@example.com", "a long enough password")
	b := newBrowserless(t, env["SIGIL_ISSUER"])
	login := b.get(s.Issuer + "/login")
	if !strings.Contains(login.Body, `<form method="post" action="/login/passkey" class="passkey" data-passkey="get" data-begin="/login/passkey/begin" data-error="passkey-error" hidden>`) {
		t.Fatalf("passkey form not hidden until the script shows it:\n%s", login.Body)
	}
	if csp := login.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	form := hidden(login)
	form.Set("credential", "")
	if p := b.post(s.Issuer+"/login/passkey", form); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "needs JavaScript") {
		t.Errorf("passkey post without an answer: %d\n%.300s", p.Status, p.Body)
	}
	form.Set("credential", `{"id":"x"}`)
	form.Set("ceremony_id", "made-up")
	if p := b.post(s.Issuer+"/login/passkey", form); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `role="alert"`) {
		t.Errorf("passkey post with a made-up ceremony: %d\n%.300s", p.Status, p.Body)
	}
	js := b.get(s.Issuer + "/static/passkey.js")
	if js.Status != http.StatusOK || !strings.Contains(js.Header.Get("Content-Type"), "javascript") || !strings.Contains(js.Body, "navigator.credentials") {
		t.Errorf("passkey.js: %d %s", js.Status, js.Header.Get("Content-Type"))
	}
}
