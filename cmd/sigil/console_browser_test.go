package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// consoleSignIn opens the console in the browser, which sends it through
// Sigil's own authorization endpoint to the sign-in page, and signs in
// there; it returns the text of the page the browser lands on.
func consoleSignIn(t *testing.T, tab context.Context, iss, email, password, waitFor string) string {
	t.Helper()
	var loc, text string
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/console/"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.Location(&loc),
	)
	u, err := url.Parse(loc)
	if err != nil || (u.Path != "/login" && u.Path != "/oauth2/authorize") || u.Query().Get("client_id") != "sigil-console" {
		t.Fatalf("the console sent the browser to %s, not the sign-in of its client", loc)
	}
	runBrowser(t, tab,
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(waitFor),
		chromedp.Text(`main`, &text),
	)
	return text
}

// An administrator signs in to the console through the real authorization
// code flow (PKCE, the built-in first-party client) and sees the overview;
// a user without the admin role is refused with a page that says why and
// gets no console session.
func TestConsoleSignInOverviewAndRefusal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		userEmail := uniqueEmail("console")
		s.signupLogin(t, userEmail, "a user password")

		tab := newTab(t)
		text := consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		screenshot(t, tab, "overview")
		for _, want := range []string{"Overview", "RS256", "ready", adminEmail, "Users", "Tokens issued"} {
			if !strings.Contains(text, want) {
				t.Errorf("overview does not show %q:\n%s", want, text)
			}
		}
		var users string
		runBrowser(t, tab, chromedp.Text(`#users`, &users))
		if strings.TrimSpace(users) != "2" {
			t.Errorf("users on the overview: %q, want 2", users)
		}
		// The sign-in went through the token endpoint as the built-in client.
		var n int
		if n = countRowsWhere(t, dbURL, "clients", "id = 'sigil-console' AND public AND first_party"); n != 1 {
			t.Errorf("built-in console client rows: %d", n)
		}

		// Signing out of the console hands over to the logout page, which
		// ends the browser session too.
		runBrowser(t, tab,
			chromedp.Click(`button[name=sign-out]`),
			chromedp.WaitVisible(`form[action="/oauth2/logout"] button[type=submit]`),
			chromedp.Click(`form[action="/oauth2/logout"] button[type=submit]`),
			chromedp.WaitNotPresent(`form[action="/oauth2/logout"]`),
		)

		// A user without the admin role, in the same browser (one browser
		// process per test).
		other := tab
		text = consoleSignIn(t, other, iss, userEmail, "a user password", `[role=alert]`)
		screenshot(t, other, "refused")
		if !strings.Contains(text, "Administrators only") || !strings.Contains(text, userEmail) {
			t.Errorf("refusal page:\n%s", text)
		}
		// Still refused on the next visit: no console session was opened.
		runBrowser(t, other,
			chromedp.Navigate(iss+"/console/"),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "Administrators only") {
			t.Errorf("second visit of a non-admin:\n%s", text)
		}
	})
}

// The console's endpoints refuse what a browser of the administrator
// did not send: a callback whose state was not started here, a post
// without the CSRF token.
func TestConsoleRefusesForeignCallbacksAndPosts(t *testing.T) {
	s := startServer(t, adminEnv(storetest.SQLiteURL(t), nil))
	b := newBrowserless(t, s.Issuer)
	p := b.get(s.Base + "/console/")
	if p.Status != http.StatusSeeOther {
		t.Fatalf("console without a session: %d", p.Status)
	}
	loc := p.Location()
	q := loc.Query()
	if loc.Path != "/oauth2/authorize" || q.Get("client_id") != "sigil-console" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || q.Get("redirect_uri") != s.Issuer+"/console/callback" || q.Get("state") == "" {
		t.Fatalf("sign-in redirect %s", loc)
	}
	if p := b.get(s.Base + "/console/callback?code=x&state=other&iss=" + url.QueryEscape(s.Issuer)); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, "role=\"alert\"") {
		t.Errorf("callback with a foreign state: %d\n%s", p.Status, p.Body)
	}
	fresh := newBrowserless(t, s.Issuer)
	if p := fresh.get(s.Base + "/console/callback?code=x&state=y"); p.Status != http.StatusBadRequest {
		t.Errorf("callback without a started sign-in: %d", p.Status)
	}
	if p := b.post(s.Base+"/console/sign-out", url.Values{}); p.Status != http.StatusForbidden {
		t.Errorf("sign-out without a CSRF token: %d", p.Status)
	}
}

// consoleOps exercises the console's routes for the OpenAPI answer test:
// without a console session every page redirects to the sign-in, and the
// callback refuses an answer to a sign-in it did not start.
func consoleOps(t *testing.T, do func(method, path, ctype, body string, hdr ...string) (int, []byte)) {
	t.Helper()
	form := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/console", http.StatusMovedPermanently},
		{"GET", "/console/", http.StatusSeeOther},
		{"GET", "/console/callback?code=x&state=y", http.StatusBadRequest},
		{"POST", "/console/sign-out", http.StatusForbidden},
		{"GET", "/console/keys", http.StatusSeeOther},
		{"POST", "/console/keys/rotate", http.StatusSeeOther},
		{"GET", "/console/keys/x/revoke", http.StatusSeeOther},
		{"POST", "/console/keys/x/revoke", http.StatusSeeOther},
		{"GET", "/console/inspect", http.StatusSeeOther},
		{"POST", "/console/inspect", http.StatusSeeOther},
		{"GET", "/console/audit", http.StatusSeeOther},
		{"GET", "/console/users", http.StatusSeeOther},
		{"GET", "/console/users/x", http.StatusSeeOther},
		{"POST", "/console/users/x/lock", http.StatusSeeOther},
		{"POST", "/console/users/x/unlock", http.StatusSeeOther},
		{"POST", "/console/users/x/roles", http.StatusSeeOther},
		{"POST", "/console/users/x/sessions", http.StatusSeeOther},
		{"POST", "/console/users/x/factors", http.StatusSeeOther},
		{"POST", "/console/users/x/delete", http.StatusSeeOther},
		{"GET", "/console/clients", http.StatusSeeOther},
		{"POST", "/console/clients", http.StatusSeeOther},
		{"POST", "/console/clients/x/secret", http.StatusSeeOther},
		{"POST", "/console/clients/x/delete", http.StatusSeeOther},
		{"GET", "/console/resources", http.StatusSeeOther},
		{"POST", "/console/resources", http.StatusSeeOther},
		{"POST", "/console/resources/x/delete", http.StatusSeeOther},
		{"GET", "/console/upstreams", http.StatusSeeOther},
		{"POST", "/console/upstreams", http.StatusSeeOther},
		{"GET", "/console/upstreams/x", http.StatusSeeOther},
		{"POST", "/console/upstreams/x", http.StatusSeeOther},
		{"GET", "/console/upstreams/x/delete", http.StatusSeeOther},
		{"POST", "/console/upstreams/x/delete", http.StatusSeeOther},
	} {
		ctype := ""
		if c.method == "POST" {
			ctype = form
		}
		if st, _ := do(c.method, c.path, ctype, ""); st != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, st, c.want)
		}
	}
}
