package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A person signs in to a relying party in a real browser through the
// upstream (with the pages' own CSP in force, so that the form's
// redirect to the upstream is allowed): "Continue with Corp SSO", the
// upstream's sign-in page, then Sigil's page that asks the password of
// the existing account of the same email before linking (audited like
// every page), and back at the relying party signed in with idp "corp".
func TestUpstreamSignInInABrowser(t *testing.T) {
	axe := loadAxe(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		if strings.HasPrefix(dbURL, "sqlite") {
			dir = screenshotsDir(t)
		}
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, userEmail, true)
		rp := newRelyingParty(t, fx.iss)
		id, secret := fx.s.oidcClient(t, fx.admin, map[string]any{"name": "Notes", "redirectUris": []string{rp.Callback()}, "firstParty": true})
		rp.configure(id, secret, "openid", "email")

		tab := newTabFor(t, 4*time.Minute)
		runBrowser(t, tab,
			chromedp.Navigate(rp.srv.URL+"/start"),
			chromedp.WaitVisible(`button[name=upstream][value=corp]`),
			chromedp.Click(`button[name=upstream][value=corp]`),
			// The upstream's own sign-in page.
			chromedp.WaitVisible(`form[action="/login"] #email`),
			chromedp.SendKeys(`#email`, userEmail),
			chromedp.SendKeys(`#password`, upstreamPassword),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`form[action="/login/upstream/link"] input[name=password]`),
		)
		var at string
		runBrowser(t, tab, chromedp.Location(&at))
		if !strings.HasPrefix(at, fx.iss+"/login/upstream/corp/callback") {
			t.Fatalf("link page at %s", at)
		}
		runBrowser(t, tab, bypassCSP())
		checkPage(t, tab, axe, dir, "upstream-link")
		var result string
		runBrowser(t, tab,
			chromedp.SendKeys(`form[action="/login/upstream/link"] input[name=password]`, userPassword),
			chromedp.Click(`button[name=link]`),

			chromedp.WaitVisible(`#result`),
			chromedp.Text(`#result`, &result),
		)
		res := rp.result(t)
		var extra struct {
			IDP string `json:"idp"`
		}
		if res.Err != "" || res.IDToken == nil {
			t.Fatalf("relying party: %+v (page %q)", res, result)
		}
		if err := res.IDToken.Claims(&extra); err != nil || extra.IDP != "corp" || res.Claims.Email != userEmail || result != "signed in as "+userEmail {
			t.Errorf("signed in as %q (page %q), idp %q", res.Claims.Email, result, extra.IDP)
		}
		// The account page lists the linked identity.
		runBrowser(t, tab, chromedp.Navigate(fx.iss+"/account"), chromedp.WaitVisible(`ul.identities`))
		checkPage(t, tab, axe, dir, "account-identities")
	})
}
