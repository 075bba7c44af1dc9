package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A mailed link that is already used, or was never issued, says so when
// it is opened, with the way to a new one, instead of a form that fails
// only once filled in. Opening a live link shows the form and spends
// nothing: the token still works afterwards. For the verification, the
// email-change and the password-reset links.
func TestMailedLinksSayWhenTheyAreDead(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := mp.mailEnv(browserEnv(t, dbURL, nil))
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		email, moved := uniqueEmail("dead"), uniqueEmail("moved")
		lr := s.signupLogin(t, email, "first password 1")
		tab := newTab(t)

		// live opens link and waits for its form; dead opens it and
		// checks that the form is gone and next is offered.
		live := func(link, field string) {
			t.Helper()
			runBrowser(t, tab, chromedp.Navigate(link), chromedp.WaitVisible(field))
		}
		dead := func(link, field, next, shot string) {
			t.Helper()
			var alert string
			var forms, nexts int
			runBrowser(t, tab,
				chromedp.Navigate(link),
				chromedp.WaitReady(`main`),
				chromedp.Evaluate(`(document.querySelector("div[role=alert]") || {}).textContent || ""`, &alert),
				chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, field), &forms),
				chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll('a[href=%q]').length`, next), &nexts),
			)
			if !strings.Contains(alert, "invalid, already used or expired") || forms != 0 || nexts == 0 {
				t.Errorf("%s: alert %q, %d form fields, %d links to %s", link, alert, forms, nexts, next)
			}
			if shot != "" {
				for _, w := range []int64{1280, 390} {
					h := map[int64]int64{1280: 800, 390: 844}[w]
					runBrowser(t, tab, chromedp.EmulateViewport(w, h))
					screenshot(t, tab, fmt.Sprintf("%s-%d", shot, w))
				}
			}
		}
		spend := func(path string, body map[string]string) {
			t.Helper()
			if st, _, b := s.postJSON(t, path, body); st >= 300 {
				t.Fatalf("%s after the page was opened: %d %s", path, st, b)
			}
		}

		verify, tok := mailLink(t, mp.waitSubject(t, email, "Confirm your email"))
		live(verify, `form[action="/verify-email"] button[type=submit]`)
		spend("/auth/verify-email", map[string]string{"token": tok})
		dead(verify, `form[action="/verify-email"]`, "/login", "verify-used")
		dead(iss+"/verify-email?token="+strings.Repeat("A", 43), `form[action="/verify-email"]`, "/login", "")
		dead(iss+"/verify-email", `form[action="/verify-email"]`, "/login", "")

		if st, _, b := s.postJSON(t, "/auth/email", map[string]string{"email": moved, "password": "first password 1"}, bearer(lr.Token)...); st >= 300 {
			t.Fatalf("email change: %d %s", st, b)
		}
		change, tok := mailLink(t, mp.waitSubject(t, moved, "Confirm your new email"))
		live(change, `form[action="/verify-email"] button[type=submit]`)
		spend("/auth/verify-email", map[string]string{"token": tok})
		dead(change, `form[action="/verify-email"]`, "/login", "")

		if st, _, b := s.postJSON(t, "/auth/password/forgot", map[string]string{"email": moved}); st >= 300 {
			t.Fatalf("forgot: %d %s", st, b)
		}
		reset, tok := mailLink(t, mp.waitSubject(t, moved, "Reset your"))
		live(reset, `input[name=password]`)
		// A too short password is refused next to its field, in characters.
		var said, invalid string
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=password]`, "short"),
			chromedp.Click(`form[action="/reset-password"] button[type=submit]`),
			chromedp.WaitVisible(`#password-error`),
			chromedp.Text(`#password-error`, &said),
			chromedp.AttributeValue(`input[name=password]`, "aria-invalid", &invalid, nil),
		)
		screenshot(t, tab, "reset-short")
		if invalid != "true" || !strings.Contains(said, "at least 8 characters") {
			t.Errorf("short new password: aria-invalid %q, message %q", invalid, said)
		}
		spend("/auth/password/reset", map[string]string{"token": tok, "password": "second password 2"})
		dead(reset, `input[name=password]`, "/forgot-password", "reset-used")
		dead(iss+"/reset-password?token="+strings.Repeat("B", 43), `input[name=password]`, "/forgot-password", "")

	})
}
