package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// An administrator filters the audit log by type, by user (email) and by
// time range, and pages to older events.
func TestConsoleFiltersAuditLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		email := uniqueEmail("audited")
		s.signupLogin(t, email, "a user password")
		s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "wrong password"})
		for i := 0; i < 55; i++ {
			s.postJSON(t, "/auth/login", map[string]string{"email": uniqueEmail("nobody"), "password": "wrong password"})
		}
		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		var types []string
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/audit"]`),
			chromedp.WaitVisible(`form.audit-filter`),
			chromedp.SetValue(`#type`, "login.failure"),
			chromedp.SendKeys(`#user`, email),
			// The unfiltered page has a table too: mark its body, so that
			// the wait below finds the filtered page's table.
			chromedp.Evaluate(`document.body.dataset.before = "filter"`, nil),
			chromedp.Click(`button[name=filter]`),
			chromedp.WaitVisible(`body:not([data-before]) table.audit`),
			chromedp.Evaluate(`[...document.querySelectorAll("table.audit tbody tr")].map(r => r.dataset.type || "")`, &types),
		)
		screenshot(t, tab, "audit")
		if len(types) != 1 || types[0] != "login.failure" {
			t.Errorf("login failures of %s: %v", email, types)
		}

		// Type only: 56 failures, 50 a page.
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/audit?type=login.failure"),
			chromedp.WaitVisible(`a[rel=next]`),
			chromedp.Evaluate(`[...document.querySelectorAll("table.audit tbody tr")].map(r => r.dataset.type || "")`, &types),
		)
		if len(types) != 50 {
			t.Errorf("first page of failures: %d rows", len(types))
		}
		runBrowser(t, tab,
			chromedp.Click(`a[rel=next]`),
			chromedp.WaitVisible(`//a[text()="Newest events"]`, chromedp.BySearch),
			chromedp.Evaluate(`[...document.querySelectorAll("table.audit tbody tr")].map(r => r.dataset.type || "")`, &types),
		)
		if len(types) != 6 {
			t.Errorf("second page of failures: %d rows", len(types))
		}

		// A time range in the future holds nothing; one around now holds the events.
		future := time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04")
		past := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/audit?"+url.Values{"type": {"login.failure"}, "from": {future}}.Encode()),
			chromedp.WaitVisible(`table.audit`),
			chromedp.Evaluate(`[...document.querySelectorAll("table.audit tbody tr")].map(r => r.dataset.type || "")`, &types),
		)
		if len(types) != 1 || types[0] != "" {
			t.Errorf("events from %s: %v", future, types)
		}
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/audit?"+url.Values{"user": {email}, "from": {past}, "to": {future}}.Encode()),
			chromedp.WaitVisible(`table.audit`),
			chromedp.Evaluate(`[...document.querySelectorAll("table.audit tbody tr")].map(r => r.dataset.type || "")`, &types),
		)
		if !slices.Contains(types, "user.signup") || !slices.Contains(types, "login.failure") || slices.Contains(types, "") {
			t.Errorf("events of %s in the last hour: %v", email, types)
		}
		var alert string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/audit?from=yesterday"),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Text(`[role=alert]`, &alert),
		)
		if !strings.Contains(alert, "from") {
			t.Errorf("alert for a malformed time: %q", alert)
		}
	})
}
