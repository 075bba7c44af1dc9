package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// The account page fits a desktop and a phone (its sessions table does
// not widen it), names devices as people do ("Chrome on Windows", the
// raw User-Agent on hover), gives each section at most one primary
// button and no button the card's full width on a desktop, asks for a
// second-factor code in one field, marks each wrong field of a password
// change next to it, and offers to send the verification mail again
// while the email is unverified.
func TestAccountPageFitsAndReadsPlainly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		s := startServerClock(t, env, clock.Now)
		iss := env["SIGIL_ISSUER"]
		email := uniqueEmail("account")
		const pw = "a long enough password"
		api := s.signupLogin(t, email, pw)
		const windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
		s.loginUA(t, email, pw, windows)
		s.loginUA(t, email, pw, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
		secret, _ := enrolTOTP(t, s, api.Token, pw, clock)
		clock.Add(30 * time.Second)

		tab := newTabFor(t, 3*time.Minute)
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/login"),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, pw),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`form[action="/login/mfa"] input[name=code]`),
		)
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=code]`, appCode(t, secret, clock.Now())),
			chromedp.Click(`form[action="/login/mfa"] button[type=submit]`),
			chromedp.WaitVisible(`table.sessions`),
		)
		checkFit(t, tab, "account")

		sessions := evalString(t, tab, `document.querySelector("table.sessions").innerText`)
		for _, want := range []string{"Chrome on Windows", "Safari on iPhone", "Chrome on Linux"} {
			if !strings.Contains(sessions, want) {
				t.Errorf("sessions %q lack %q", sessions, want)
			}
		}
		if got := evalString(t, tab, `[...document.querySelectorAll("table.sessions [title]")].map(e => e.title).join("\n")`); !strings.Contains(got, windows) {
			t.Errorf("no session shows the raw User-Agent on hover: %q", got)
		}

		var sections []struct {
			Heading  string
			Primary  int
			Widest   float64
			CardWide float64
		}
		runBrowser(t, tab, chromedp.EmulateViewport(1280, 800), chromedp.Evaluate(`(() => {
			const card = document.querySelector("main .card"), out = [];
			let cur = {Heading: "top", Primary: 0, Widest: 0, CardWide: card.clientWidth};
			out.push(cur);
			const walk = [...card.querySelectorAll("h2, button")];
			for (const e of walk) {
				if (e.tagName === "H2") { cur = {Heading: e.textContent, Primary: 0, Widest: 0, CardWide: card.clientWidth}; out.push(cur); continue; }
				if (e.offsetWidth === 0) continue;
				if (!e.classList.contains("secondary") && !e.classList.contains("danger")) cur.Primary++;
				cur.Widest = Math.max(cur.Widest, e.offsetWidth);
			}
			return out;
		})()`, &sections))
		for _, sec := range sections {
			if sec.Primary > 1 {
				t.Errorf("section %q has %d primary buttons", sec.Heading, sec.Primary)
			}
			if sec.Widest > sec.CardWide/2 {
				t.Errorf("section %q has a button %.0f px wide in a %.0f px card", sec.Heading, sec.Widest, sec.CardWide)
			}
		}
		if n := evalString(t, tab, `String(document.querySelectorAll("main input[name=code]").length)`); n != "1" {
			t.Errorf("%s second-factor code fields on the account page, want 1", n)
		}

		// A password change with both fields wrong: each is marked.
		var invalid []string
		runBrowser(t, tab,
			chromedp.SendKeys(`#new_password`, "short"),
			chromedp.Click(`form.change-password button[type=submit]`),
			chromedp.WaitVisible(`#new_password-error`),
			chromedp.Evaluate(`[...document.querySelectorAll("form.change-password [aria-invalid=true]")].map(e => e.id + ": " +
				(document.getElementById(e.getAttribute("aria-describedby")) || {}).textContent)`, &invalid),
		)
		screenshot(t, tab, "password-errors")
		if len(invalid) != 2 || !strings.HasPrefix(invalid[0], "current_password: Current password") || !strings.HasPrefix(invalid[1], "new_password: New password must be at least 8") {
			t.Errorf("password change errors: %q", invalid)
		}

		// The email is not verified: the page offers the mail again.
		var notice string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/account"),
			chromedp.WaitVisible(`table.sessions`),
			chromedp.Evaluate(`(document.querySelector("button[name=resend-verification]") || {}).textContent || ""`, &notice),
		)
		if notice == "" {
			t.Fatal("no button to send the verification mail again")
		}
		runBrowser(t, tab,
			chromedp.Click(`button[name=resend-verification]`),
			chromedp.WaitVisible(`.notice`),
			chromedp.Text(`.notice`, &notice),
		)
		if !strings.Contains(notice, email) {
			t.Errorf("after resending: %q", notice)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'email.verification_sent'"); n != 1 {
			t.Errorf("verification mails resent: %d, want 1", n)
		}
	})
}
