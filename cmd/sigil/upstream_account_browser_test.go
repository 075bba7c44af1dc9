package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// In a real browser, with the account page's CSP in force (its
// form-action must allow the redirect to the upstream): a user signed in
// with a password links the upstream identity of another email from the
// account page, sees it listed (audited at both sizes), unlinks it, and
// a later sign-in through the upstream no longer finds the account.
func TestAccountLinkInABrowser(t *testing.T) {
	axe := loadAxe(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		if strings.HasPrefix(dbURL, "sqlite") {
			dir = screenshotsDir(t)
		}
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "elsewhere@example.com", true)
		tab := newTabFor(t, 4*time.Minute)
		runBrowser(t, tab,
			chromedp.Navigate(fx.iss+"/login"),
			chromedp.WaitVisible(`#email`),
			chromedp.SendKeys(`#email`, userEmail),
			chromedp.SendKeys(`#password`, userPassword),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`#link_password`),
			chromedp.SendKeys(`#link_password`, userPassword),
			chromedp.Click(`button[name=upstream][value=corp]`),
			// The upstream's own sign-in page.
			chromedp.WaitVisible(`form[action="/login"] #email`),
			chromedp.SendKeys(`#email`, "elsewhere@example.com"),
			chromedp.SendKeys(`#password`, upstreamPassword),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`ul.identities`),
		)
		var at, notice string
		runBrowser(t, tab, chromedp.Location(&at), chromedp.Text(`[role=status]`, &notice))
		if at != fx.iss+"/account?done=upstream-linked" || !strings.Contains(notice, "The account is linked") {
			t.Fatalf("after the link: %s %q", at, notice)
		}
		if owner := fx.identityOwner(t, dbURL, "elsewhere@example.com"); owner != userEmail {
			t.Fatalf("identity linked to %q", owner)
		}
		runBrowser(t, tab, bypassCSP())
		checkPage(t, tab, axe, dir, "account-upstream-linked")
		runBrowser(t, tab,
			chromedp.Click(`button[name=unlink]`),
			chromedp.WaitVisible(`button[name=upstream][value=corp]`),
			chromedp.Location(&at),
		)
		if at != fx.iss+"/account?done=upstream-unlinked" || fx.identityOwner(t, dbURL, "elsewhere@example.com") != "" {
			t.Errorf("after the unlink: %s", at)
		}
	})
}
