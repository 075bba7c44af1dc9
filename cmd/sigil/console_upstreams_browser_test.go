package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// An administrator manages upstreams from the console: the list shows
// the callback URL to register and never a secret; a refused issuer
// comes back next to its field; an upstream is created, then edited
// (every setting, the secret given again); deleting one first says how
// many identities go with it and who will need a password reset. Every
// write is audited with the administrator as actor; a post without the
// form's CSRF token is refused, and a user who is not an administrator
// never sees the page.
func TestConsoleManagesUpstreams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "new@example.com", true)
		b := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), "new@example.com"); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-up through the upstream: %d\n%.500s", p.Status, p.Body)
		}
		adminID := fx.s.login(t, adminEmail, adminPassword).UserID

		tab := newTab(t)
		consoleSignIn(t, tab, fx.iss, adminEmail, adminPassword, `#signing-alg`)
		var row, html string
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/upstreams"]`),
			chromedp.WaitVisible(`form.create-upstream`),
			chromedp.Text(`table.upstreams tr[data-upstream=corp]`, &row),
			chromedp.OuterHTML(`html`, &html),
		)
		screenshot(t, tab, "list")
		for _, want := range []string{"Corp SSO", "oidc", fx.upIss, fx.clientID, "none", fx.iss + "/login/upstream/corp/callback"} {
			if !strings.Contains(row, want) {
				t.Errorf("the row of corp lacks %q: %q", want, row)
			}
		}
		if strings.Contains(html, fx.secret) {
			t.Error("the upstreams page shows a client secret")
		}

		// An issuer that is not https, on a host that is not loopback:
		// the error is next to the issuer field, and nothing is stored.
		var fieldErr, invalid string
		runBrowser(t, tab,
			chromedp.SendKeys(`#id`, "acme"),
			chromedp.SendKeys(`#name`, "Acme"),
			chromedp.SendKeys(`#issuer`, "http://idp.example.com"),
			chromedp.SendKeys(`#client_id`, "sigil-at-acme"),
			chromedp.SendKeys(`#client_secret`, "first secret"),
			chromedp.Click(`button[name=create-upstream]`),
			chromedp.WaitVisible(`#issuer-error`),
			chromedp.Text(`#issuer-error`, &fieldErr),
			chromedp.AttributeValue(`#issuer`, "aria-invalid", &invalid, nil),
		)
		screenshot(t, tab, "field-error")
		if !strings.Contains(fieldErr, "Issuer") || !strings.Contains(fieldErr, "https") || invalid != "true" {
			t.Errorf("issuer field error %q, aria-invalid %q", fieldErr, invalid)
		}
		if n := countRowsWhere(t, dbURL, "upstreams", "id = 'acme'"); n != 0 {
			t.Error("a refused upstream was stored")
		}

		// Corrected (the secret is never sent back to the page, so it is
		// typed again): created, and its page shows the callback URL.
		var callback string
		runBrowser(t, tab,
			chromedp.SetValue(`#issuer`, "https://idp.example.com"),
			chromedp.SendKeys(`#client_secret`, "first secret"),
			chromedp.Click(`button[name=create-upstream]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "registered")]`, chromedp.BySearch),
			chromedp.Text(`#callback-url`, &callback),
		)
		if callback != fx.iss+"/login/upstream/acme/callback" {
			t.Errorf("callback URL %q", callback)
		}

		// Edit: PUT semantics, the secret required again.
		var required string
		var ok bool
		runBrowser(t, tab,
			chromedp.AttributeValue(`form.edit-upstream #client_secret`, "required", &required, &ok),
			chromedp.SetValue(`#name`, "Acme SSO"),
			chromedp.SetValue(`#linking`, "verified-email"),
			chromedp.SendKeys(`#client_secret`, "second secret"),
			chromedp.Click(`button[name=replace-upstream]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "replaced")]`, chromedp.BySearch),
		)
		if !ok {
			t.Error("the edit form does not require the client secret")
		}
		if n := countRowsWhere(t, dbURL, "upstreams", "id = 'acme' AND name = 'Acme SSO' AND linking = 'verified-email'"); n != 1 {
			t.Error("the edit was not stored")
		}
		if n := countRowsWhere(t, dbURL, "upstreams", "sealed_secret LIKE '%second secret%' OR sealed_secret LIKE '%first secret%'"); n != 0 {
			t.Error("a client secret is stored in clear")
		}
		for _, typ := range []string{"upstream.created", "upstream.updated"} {
			if n := countRowsWhere(t, dbURL, "audit_events", "type = '"+typ+"' AND actor = '"+adminID+"' AND detail LIKE '%acme%'"); n != 1 {
				t.Errorf("%d %s events of acme by the administrator", n, typ)
			}
		}

		// A post whose CSRF token is not the form's is refused.
		var refusal string
		runBrowser(t, tab,
			chromedp.Navigate(fx.iss+"/console/upstreams/acme/delete"),
			chromedp.WaitVisible(`button[name=confirm-delete]`),
			chromedp.SetValue(`form[action$="/delete"] input[name=csrf_token]`, "forged-token"),
			chromedp.Click(`button[name=confirm-delete]`),
			chromedp.WaitVisible(`//h1[contains(., "Form expired")]`, chromedp.BySearch),
			chromedp.Text(`main`, &refusal),
		)
		if n := countRowsWhere(t, dbURL, "upstreams", "id = 'acme'"); n != 1 {
			t.Errorf("a post with a forged CSRF token deleted the upstream (%q)", refusal)
		}

		// Deleting corp says first what goes with it: the identity of the
		// account made through it, which has no password.
		var consequences string
		runBrowser(t, tab,
			chromedp.Navigate(fx.iss+"/console/upstreams"),
			chromedp.WaitVisible(`form.create-upstream`),
			chromedp.Click(`tr[data-upstream=corp] a.delete`),
			chromedp.WaitVisible(`button[name=confirm-delete]`),
			chromedp.Text(`#delete-consequences`, &consequences),
		)
		screenshot(t, tab, "delete")
		for _, want := range []string{"1 linked identity", "1 account", "password reset"} {
			if !strings.Contains(consequences, want) {
				t.Errorf("the confirmation does not say %q: %q", want, consequences)
			}
		}
		if n := countRowsWhere(t, dbURL, "upstreams", "id = 'corp'"); n != 1 {
			t.Fatal("the confirmation page deleted the upstream")
		}
		runBrowser(t, tab,
			chromedp.Click(`button[name=confirm-delete]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "deleted")]`, chromedp.BySearch),
		)
		if n := countRowsWhere(t, dbURL, "upstream_identities", "upstream_id = 'corp'"); n != 0 {
			t.Errorf("%d identities outlived their upstream", n)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'upstream.deleted' AND actor = '"+adminID+"' AND detail = 'upstream corp'"); n != 1 {
			t.Errorf("%d upstream.deleted events of corp by the administrator", n)
		}

		// A user who is not an administrator, in the same browser.
		var text string
		runBrowser(t, tab,
			chromedp.Click(`button[name=sign-out]`),
			chromedp.WaitVisible(`form[action="/oauth2/logout"] button[type=submit]`),
			chromedp.Click(`form[action="/oauth2/logout"] button[type=submit]`),
			chromedp.WaitNotPresent(`form[action="/oauth2/logout"]`),
			chromedp.Navigate(fx.iss+"/console/upstreams"),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.SendKeys(`input[name=email]`, userEmail),
			chromedp.SendKeys(`input[name=password]`, userPassword),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Navigate(fx.iss+"/console/upstreams"),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "Administrators only") || strings.Contains(text, "Acme SSO") {
			t.Errorf("the upstreams page for a user who is not an administrator:\n%s", text)
		}
	})
}
