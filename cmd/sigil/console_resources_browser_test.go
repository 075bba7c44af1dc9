package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// An administrator registers a resource server from the console, a
// client then gets a token for it, a refused URI comes back as an alert,
// and deleting it stops the tokens.
func TestConsoleManagesResources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		id, secret := s.createClient(t, s.adminToken(t), map[string]any{"name": "agent"})
		const res = "https://notes.example.com/mcp"
		token := func() (int, []byte) {
			st, _, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "resource": {res}}, basic(id, secret)...)
			return st, b
		}
		if st, b := token(); st != http.StatusBadRequest || !strings.Contains(string(b), "invalid_target") {
			t.Fatalf("token for an unregistered resource: %d %s", st, b)
		}

		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		var row string
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/resources"]`),
			chromedp.WaitVisible(`form.create-resource`),
			chromedp.SendKeys(`#uri`, res),
			chromedp.SendKeys(`#name`, "Notes MCP"),
			chromedp.Click(`button[name=create-resource]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "registered")]`, chromedp.BySearch),
			chromedp.Text(`table.resources tbody tr`, &row),
		)
		screenshot(t, tab, "resources")
		if !strings.Contains(row, res) || !strings.Contains(row, "Notes MCP") {
			t.Errorf("resource row: %q", row)
		}
		if st, b := token(); st != http.StatusOK {
			t.Fatalf("token for the registered resource: %d %s", st, b)
		}

		var alert string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/resources"),
			chromedp.WaitVisible(`form.create-resource`),
			chromedp.SendKeys(`#uri`, "http://notes.example.com/mcp"),
			chromedp.SendKeys(`#name`, "Plain http"),
			chromedp.Click(`button[name=create-resource]`),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Text(`[role=alert]`, &alert),
		)
		if !strings.Contains(alert, "https") {
			t.Errorf("alert for a plain-http resource: %q", alert)
		}
		if n := countRowsWhere(t, dbURL, "resources", "name = 'Plain http'"); n != 0 {
			t.Error("a refused resource was stored")
		}

		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/resources"),
			chromedp.WaitVisible(`form.create-resource`),
			chromedp.Click(`table.resources button[name=delete-resource]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "deleted")]`, chromedp.BySearch),
		)
		if st, _ := token(); st != http.StatusBadRequest {
			t.Errorf("token for a deleted resource: %d", st)
		}
	})
}
