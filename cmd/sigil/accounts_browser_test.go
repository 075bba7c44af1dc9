package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A person uses the hosted account pages in a real browser: opens the
// verification link mailed at signup, resets a forgotten password from the
// sign-in page with the mailed link, signs another session out, changes
// the password (other sessions end, this one stays) and deletes the
// account.
func TestAccountPagesInBrowser(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := mp.mailEnv(browserEnv(t, dbURL, nil))
		s := startServer(t, env)
		email := uniqueEmail("browser")
		api := s.signupLogin(t, email, "first password 1")
		tab := newTab(t)

		// The verification link, opened in the browser, confirmed by a button.
		link, _ := mailLink(t, mp.waitSubject(t, email, "Confirm your email"))
		if !strings.HasPrefix(link, env["SIGIL_ISSUER"]+"/verify-email?token=") {
			t.Fatalf("link %s", link)
		}
		var text string
		runBrowser(t, tab,
			chromedp.Navigate(link),
			chromedp.WaitVisible(`button[type=submit]`),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "confirmed")]`, chromedp.BySearch),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "confirmed") {
			t.Fatalf("verify page: %s", text)
		}
		if !s.me(t, s.login(t, email, "first password 1").Token).EmailVerified {
			t.Fatal("email not verified after the page")
		}

		// Forgot password, from the sign-in page.
		runBrowser(t, tab,
			chromedp.Navigate(env["SIGIL_ISSUER"]+"/login"),
			chromedp.WaitVisible(`a[href="/forgot-password"]`),
			chromedp.Click(`a[href="/forgot-password"]`),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "on its way")]`, chromedp.BySearch),
		)
		resetLink, _ := mailLink(t, mp.waitSubject(t, email, "Reset your"))
		runBrowser(t, tab,
			chromedp.Navigate(resetLink),
			chromedp.WaitVisible(`input[name=password]`),
			chromedp.SendKeys(`input[name=password]`, "second password 2"),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "password is changed")]`, chromedp.BySearch),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "password is changed") {
			t.Fatalf("after reset: %s", text)
		}
		if got := refreshStatus(t, s, api.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("refresh token after the reset page: %d", got)
		}

		// Sign in on the page; a REST session exists beside it.
		other := s.loginUA(t, email, "second password 2", "OtherDevice/1.0")
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, "second password 2"),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`table.sessions`),
			chromedp.Text(`table.sessions`, &text),
		)
		screenshot(t, tab, "account")
		if !strings.Contains(text, "OtherDevice/1.0") || !strings.Contains(text, "this browser") {
			t.Fatalf("sessions on the account page:\n%s", text)
		}
		runBrowser(t, tab,
			chromedp.Click(`//tr[contains(., "OtherDevice/1.0")]//button[@name="sign-out"]`, chromedp.BySearch),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "signed out")]`, chromedp.BySearch),
			chromedp.Text(`table.sessions`, &text),
		)
		if strings.Contains(text, "OtherDevice/1.0") {
			t.Errorf("signed-out session still listed:\n%s", text)
		}
		if got := refreshStatus(t, s, other.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("refresh of the session signed out on the page: %d", got)
		}

		// Change the password: another session ends, this browser's stays.
		third := s.login(t, email, "second password 2")
		runBrowser(t, tab,
			chromedp.SendKeys(`#current_password`, "second password 2"),
			chromedp.SendKeys(`#new_password`, "third password 3"),
			chromedp.Click(`form.change-password button[type=submit]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "password is changed")]`, chromedp.BySearch),
			chromedp.Text(`.notice`, &text),
		)
		if !strings.Contains(text, "password is changed") {
			t.Fatalf("after change: %s", text)
		}
		if got := refreshStatus(t, s, third.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("other session after the change: %d", got)
		}
		mp.waitSubject(t, email, "password was changed")

		// Delete the account.
		runBrowser(t, tab,
			chromedp.SendKeys(`#delete_password`, "third password 3"),
			chromedp.Click(`button[name=delete-account]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "deleted")]`, chromedp.BySearch),
			chromedp.Text(`.notice`, &text),
		)
		if !strings.Contains(text, "deleted") {
			t.Fatalf("after delete: %s", text)
		}
		st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "third password 3"})
		if st != http.StatusUnauthorized {
			t.Errorf("login after deletion on the page: %d", st)
		}
	})
}
