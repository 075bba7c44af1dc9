package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A person connects a command-line tool in a real browser, at a phone's
// and a desktop's width: a wrong code is refused with an alert, the right
// one typed in lower case without the dash leads to the sign-in page, then
// to the confirmation naming the client, the resource and the scopes, and
// Allow ends on "You can return to your device". Each page passes the
// page audit (axe-core's WCAG 2.1 A/AA rules, no sideways scroll, no text
// over text) at 390 and 1280 px; its screenshots go where the audit's go
// (SIGIL_SCREENSHOTS_DIR for SQLite, as `make screenshots` sets it).
func TestDevicePagesInBrowser(t *testing.T) {
	axe := loadAxe(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		if strings.HasPrefix(dbURL, "sqlite") {
			dir = screenshotsDir(t)
		}
		f := newDeviceFixture(t, dbURL, nil)
		const resource = "https://notes.example.com/mcp"
		if st, _, body := f.s.postJSON(t, "/admin/resources", map[string]string{"uri": resource, "name": "Notes MCP"}, bearer(f.admin)...); st != http.StatusCreated {
			t.Fatalf("register resource: %d %s", st, body)
		}
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {f.clientID}, "scope": {"openid email"}, "resource": {resource}})
		var da struct {
			UserCode string `json:"user_code"`
		}
		decode(t, body, &da)
		if st != http.StatusOK {
			t.Fatalf("%d %s", st, body)
		}
		tab := newTab(t)
		// axe-core is injected into the page: the pages' CSP is bypassed
		// for it.
		runBrowser(t, tab, bypassCSP())
		both := func(name string) {
			t.Helper()
			checkPage(t, tab, axe, dir, "device-"+name)
		}
		wrong := "BBBB-BBBB"
		if da.UserCode == wrong {
			wrong = "CCCC-CCCC"
		}
		var text string
		runBrowser(t, tab,
			chromedp.EmulateViewport(390, 844),
			chromedp.Navigate(f.iss+"/device"),
			chromedp.WaitVisible(`input[name=user_code]`),
		)
		both("code")
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=user_code]`, wrong),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Text(`[role=alert]`, &text),
		)
		if !strings.Contains(text, "not right") {
			t.Errorf("wrong code alert: %q", text)
		}
		both("wrong-code")
		runBrowser(t, tab,
			chromedp.Evaluate(`document.querySelector("input[name=user_code]").value = ""`, nil),
			chromedp.SendKeys(`input[name=user_code]`, strings.ToLower(strings.Replace(da.UserCode, "-", "", 1))),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`input[name=password]`),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "Acme CLI") {
			t.Errorf("the sign-in page does not name the client: %q", text)
		}
		both("sign-in")
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=email]`, userEmail),
			chromedp.SendKeys(`input[name=password]`, userPassword),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`button[name=consent][value=allow]`),
			chromedp.WaitVisible(`button[name=consent][value=deny]`),
			chromedp.Text(`main`, &text),
		)
		for _, want := range []string{"Acme CLI", "Notes MCP", resource, userEmail} {
			if !strings.Contains(text, want) {
				t.Errorf("the confirmation does not show %q: %q", want, text)
			}
		}
		both("confirm")
		runBrowser(t, tab,
			chromedp.Click(`button[name=consent][value=allow]`),
			chromedp.WaitVisible(`//*[@role="status" and contains(., "You can return to your device")]`, chromedp.BySearch),
		)
		both("done")
		if n := countRowsWhere(t, dbURL, "device_authorizations", "status = 'approved'"); n != 1 {
			t.Errorf("approved authorizations: %d", n)
		}
	})
}
