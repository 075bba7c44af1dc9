package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A person signs in to a relying party in a real browser through GitHub
// (the stand-in), with the pages' own CSP in force so that the form's
// redirect to GitHub is allowed: "Continue with GitHub" on the sign-in
// page (audited), GitHub sends the browser straight back, and the
// relying party has the user signed in with idp "gh".
func TestGitHubSignInInABrowser(t *testing.T) {
	axe := loadAxe(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		if strings.HasPrefix(dbURL, "sqlite") {
			dir = screenshotsDir(t)
		}
		fx := newGitHubFixture(t, dbURL, "none")
		fx.gh.signIn(&ghUser{ID: 99, Login: "octo", Name: "Octo Cat", Emails: ghEmails("octo@example.com", true)})
		rp := newRelyingParty(t, fx.iss)
		id, secret := fx.s.oidcClient(t, fx.admin, map[string]any{"name": "Notes", "redirectUris": []string{rp.Callback()}, "firstParty": true})
		rp.configure(id, secret, "openid", "email")

		tab := newTabFor(t, 4*time.Minute)
		runBrowser(t, tab,
			chromedp.Navigate(rp.srv.URL+"/start"),
			chromedp.WaitVisible(`button[name=upstream][value=gh]`),
		)
		var label string
		runBrowser(t, tab, chromedp.Text(`button[name=upstream][value=gh]`, &label))
		if !strings.Contains(label, "Continue with GitHub") {
			t.Errorf("button %q", label)
		}
		// The audit injects axe-core, which the page's CSP would refuse;
		// a new tab keeps the CSP in force for the walk itself.
		runBrowser(t, tab, bypassCSP())
		checkPage(t, tab, axe, dir, "login-github")

		walk := newTabFor(t, 4*time.Minute)
		var result string
		runBrowser(t, walk,
			chromedp.Navigate(rp.srv.URL+"/start"),
			chromedp.WaitVisible(`button[name=upstream][value=gh]`),
			chromedp.Click(`button[name=upstream][value=gh]`),
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
		if err := res.IDToken.Claims(&extra); err != nil || extra.IDP != "gh" || res.Claims.Email != "octo@example.com" || result != "signed in as octo@example.com" {
			t.Errorf("signed in as %q (page %q), idp %q", res.Claims.Email, result, extra.IDP)
		}
	})
}
