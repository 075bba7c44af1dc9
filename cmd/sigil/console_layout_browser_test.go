package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// pageSizes are the viewports every page is checked at: a desktop and a
// phone.
var pageSizes = [][2]int64{{1280, 800}, {390, 844}}

// pageFit is how a page sits in its viewport.
type pageFit struct {
	ScrollWidth float64  `json:"scrollWidth"`
	Viewport    float64  `json:"viewport"`
	Hidden      []string `json:"hidden"`
}

// fitScript measures the page: its width, and the actions (buttons and
// links in main) that are drawn outside the viewport or outside the box
// of a container that clips them (a table scrolled sideways).
const fitScript = `(() => {
	const vw = window.innerWidth, hidden = [];
	for (const e of document.querySelectorAll("main button, main a")) {
		const r = e.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) continue;
		let left = 0, right = vw;
		for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
			if (getComputedStyle(p).overflowX !== "visible") {
				const b = p.getBoundingClientRect();
				left = Math.max(left, b.left); right = Math.min(right, b.right);
			}
		}
		if (r.left < left - 1 || r.right > right + 1) hidden.push((e.getAttribute("aria-label") || e.textContent).trim());
	}
	return {scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth), viewport: vw, hidden};
})()`

// checkFit loads nothing: it sizes the current page to each of
// pageSizes, screenshots it as name-WIDTH, and reports sideways scroll
// and hidden actions.
func checkFit(t *testing.T, tab context.Context, name string) {
	t.Helper()
	for _, size := range pageSizes {
		var fit pageFit
		runBrowser(t, tab, chromedp.EmulateViewport(size[0], size[1]), chromedp.Evaluate(fitScript, &fit))
		screenshot(t, tab, fmt.Sprintf("%s-%d", name, size[0]))
		if fit.ScrollWidth > fit.Viewport+1 {
			t.Errorf("%s at %d px is %.0f px wide (sideways scroll)", name, size[0], fit.ScrollWidth)
		}
		if len(fit.Hidden) > 0 {
			t.Errorf("%s at %d px: actions out of sight: %q", name, size[0], fit.Hidden)
		}
	}
}

// evalString runs a script that returns a string.
func evalString(t *testing.T, tab context.Context, script string) string {
	t.Helper()
	var s string
	runBrowser(t, tab, chromedp.Evaluate(script, &s))
	return s
}

var goDuration = regexp.MustCompile(`\b\d+h\d+m\d+s\b|\b\d+ s\b`)

// Every console page fits a desktop and a phone: no sideways scroll, no
// action out of sight (the clients table keeps Rotate secret and Delete
// in view at 1280 px). The pages speak the operator's language: users by
// email and clients by name (ids on hover), durations in days, hours and
// minutes, a new client secret in a monospace field with a copy button
// under a warning, and the audit log's type filter a list of the known
// event types.
func TestConsolePagesFitAndSpeakPlainly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		email := uniqueEmail("layout")
		user := s.signupLogin(t, email, "a user password")
		s.loginUA(t, email, "a user password", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
		tok := s.adminToken(t)
		st, _, b := s.postJSON(t, "/admin/clients", map[string]any{"name": "Billing worker", "scopes": []string{"billing.read"},
			"grantTypes": []string{"client_credentials"}, "tokenTtl": "15m"}, bearer(tok)...)
		wantStatus(t, "create client", st, b, http.StatusCreated)
		var client struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
		}
		decode(t, b, &client)
		st, access := clientCredentials(t, s, client.ClientID, client.ClientSecret)
		if st != http.StatusOK {
			t.Fatalf("client_credentials: %d", st)
		}
		// The client revokes its token: an audit event whose actor is the client.
		if st, _, b := s.postForm(t, "/oauth2/revoke", url.Values{"token": {access}}, basic(client.ClientID, client.ClientSecret)...); st != http.StatusOK {
			t.Fatalf("revoke: %d %s", st, b)
		}
		gone := s.signupLogin(t, uniqueEmail("gone"), "a user password")
		if st, _, _ := do(t, http.MethodDelete, s.Base+"/admin/users/"+gone.UserID, "", "", bearer(tok)...); st != http.StatusNoContent {
			t.Fatalf("delete user: %d", st)
		}

		tab := newTabFor(t, 4*time.Minute)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		checkFit(t, tab, "overview")

		runBrowser(t, tab, chromedp.Navigate(iss+"/console/keys"), chromedp.WaitVisible(`table.timeline`))
		checkFit(t, tab, "keys")
		if text := evalString(t, tab, `document.querySelector("main").innerText`); goDuration.MatchString(text) || !strings.Contains(text, "published 1 hour before") {
			t.Errorf("keys page durations: %s", goDuration.FindString(text))
		}

		runBrowser(t, tab, chromedp.Navigate(iss+"/console/clients"), chromedp.WaitVisible(`form.create-client`))
		checkFit(t, tab, "clients")
		row := `tr[data-client="` + client.ClientID + `"]`
		if got := evalString(t, tab, `document.querySelector('`+row+`').innerText`); !strings.Contains(got, "15 minutes") || goDuration.MatchString(got) {
			t.Errorf("client row: %q, want its token lifetime as 15 minutes", got)
		}
		// The accessible name of each action starts with its visible text
		// (axe's label-content-name-mismatch).
		names := evalString(t, tab, `[...document.querySelectorAll("table.clients button")].map(b => (b.getAttribute("aria-label") || b.textContent).trim() + "|" + b.textContent.trim()).join("\n")`)
		for _, pair := range strings.Split(names, "\n") {
			name, text, _ := strings.Cut(pair, "|")
			if !strings.HasPrefix(strings.ToLower(name), strings.ToLower(text)) {
				t.Errorf("button %q has the accessible name %q", text, name)
			}
		}

		// A rotated secret: monospace, a copy button, a warning.
		runBrowser(t, tab, chromedp.Click(row+` button[name=rotate-secret]`), chromedp.WaitVisible(`#client-secret`))
		checkFit(t, tab, "client-secret")
		var secret struct {
			Font, Box, Copy string
		}
		runBrowser(t, tab, chromedp.Evaluate(`({Font: getComputedStyle(document.querySelector("#client-secret")).fontFamily,
			Box: (document.querySelector(".warning") || {}).innerText || "",
			Copy: [...document.querySelectorAll("button")].filter(b => b.offsetWidth > 0 && /copy/i.test(b.textContent)).map(b => b.getAttribute("aria-controls") || "").join()})`, &secret))
		if !strings.Contains(strings.ToLower(secret.Font), "mono") {
			t.Errorf("secret font %q, want monospace", secret.Font)
		}
		if secret.Copy != "client-secret" {
			t.Errorf("copy button controls %q, want one visible button for #client-secret", secret.Copy)
		}
		if !strings.Contains(secret.Box, "will not be shown again") || evalString(t, tab, `document.querySelector(".notice") ? "notice" : ""`) != "" {
			t.Errorf("secret warning %q (and no success notice wanted)", secret.Box)
		}
		if secret.Copy == "client-secret" {
			var label, selected string
			runBrowser(t, tab, chromedp.Click(`button[aria-controls=client-secret]`),
				chromedp.Text(`button[aria-controls=client-secret]`, &label),
				chromedp.Evaluate(`window.getSelection().toString() || (() => { const e = document.querySelector("#client-secret"); return e.value.substring(e.selectionStart, e.selectionEnd); })()`, &selected))
			if !strings.Contains(label, "Cop") || selected == "" {
				t.Errorf("after the copy button: label %q, selection %q", label, selected)
			}
		}

		runBrowser(t, tab, chromedp.Navigate(iss+"/console/users"), chromedp.WaitVisible(`table.users`))
		checkFit(t, tab, "users")
		runBrowser(t, tab, chromedp.Navigate(iss+"/console/users/"+user.UserID), chromedp.WaitVisible(`table.sessions`))
		checkFit(t, tab, "user")
		if got := evalString(t, tab, `document.querySelector("table.sessions").innerText`); !strings.Contains(got, "Safari on iPhone") {
			t.Errorf("user's sessions: %q, want the device as Safari on iPhone", got)
		}

		runBrowser(t, tab, chromedp.Navigate(iss+"/console/audit"), chromedp.WaitVisible(`table.audit`))
		checkFit(t, tab, "audit")
		var audit struct {
			Options  []string
			Actors   []string
			Subjects []string
			Titles   []string
		}
		runBrowser(t, tab, chromedp.Evaluate(`({Options: [...document.querySelectorAll("select#type option")].map(o => o.value),
			Actors: [...document.querySelectorAll("table.audit tbody td.actor")].map(c => c.innerText.trim()),
			Subjects: [...document.querySelectorAll("table.audit tbody td.subject")].map(c => c.innerText.trim()),
			Titles: [...document.querySelectorAll("table.audit tbody [title]")].map(c => c.title)})`, &audit))
		for _, want := range []string{"", "login.failure", "client.created", "key.created", "mfa.totp.enroll"} {
			if !slices.Contains(audit.Options, want) {
				t.Errorf("audit type list %q lacks %q", audit.Options, want)
			}
		}
		for _, want := range []string{adminEmail, "Billing worker"} {
			if !slices.Contains(audit.Actors, want) {
				t.Errorf("audit actors %q lack %q", audit.Actors, want)
			}
		}
		for _, want := range []string{email, gone.UserID} {
			if !slices.Contains(audit.Subjects, want) {
				t.Errorf("audit users %q lack %q (a deleted user stays an id)", audit.Subjects, want)
			}
		}
		for _, id := range []string{user.UserID, client.ClientID} {
			if !slices.Contains(audit.Titles, id) {
				t.Errorf("no audit cell has the id %s on hover", id)
			}
		}

		runBrowser(t, tab, chromedp.Navigate(iss+"/console/inspect"), chromedp.WaitVisible(`textarea`))
		checkFit(t, tab, "inspect")
	})
}
