package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// jwksKIDs fetches the JWKS as a resource server would and returns its
// key ids.
func jwksKIDs(t *testing.T, s *server) []string {
	t.Helper()
	st, _, b := s.get(t, "/.well-known/jwks.json")
	if st != http.StatusOK {
		t.Fatalf("jwks: %d", st)
	}
	var set struct {
		Keys []struct{ KID string } `json:"keys"`
	}
	decode(t, b, &set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KID)
	}
	return out
}

// An administrator rotates the signing key from the console, choosing the
// algorithm, and sees the timeline change; then revokes the retired key
// after a confirmation that names the consequence, and sees it leave the
// JWKS (on the page and as served).
func TestConsoleRotatesAndRevokesKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		before := jwksKIDs(t, s)
		if len(before) != 1 {
			t.Fatalf("JWKS before: %v", before)
		}
		old := before[0]
		var status, text, cacheControl, etag string
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/keys"]`),
			chromedp.WaitVisible(`table.timeline`),
			chromedp.Text(`#jwks-cache-control`, &cacheControl),
			chromedp.Text(`#jwks-etag`, &etag),
			chromedp.SetValue(`#alg`, "ES256"),
			chromedp.Click(`button[name=rotate]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "Rotated")]`, chromedp.BySearch),
			chromedp.Text(`table.timeline tbody tr:first-child`, &text),
			chromedp.AttributeValue(`tr[data-kid="`+old+`"]`, "data-status", &status, nil),
		)
		screenshot(t, tab, "keys")
		if !strings.Contains(text, "ES256") || !strings.Contains(text, "active") {
			t.Errorf("newest key after rotating to ES256: %s", text)
		}
		if status != "retired" {
			t.Errorf("previous key is %q, want retired", status)
		}
		if !strings.HasPrefix(cacheControl, "public, max-age=") || !strings.HasPrefix(etag, `"`) {
			t.Errorf("JWKS headers on the page: Cache-Control %q ETag %q", cacheControl, etag)
		}
		after := jwksKIDs(t, s)
		if len(after) != 2 || !slices.Contains(after, old) {
			t.Fatalf("JWKS after rotation: %v", after)
		}

		// Revoke the retired key: the confirmation says what happens.
		runBrowser(t, tab,
			chromedp.Click(`tr[data-kid="`+old+`"] a.revoke`),
			chromedp.WaitVisible(`button[name=confirm-revoke]`),
			chromedp.Text(`[role=alert]`, &text),
		)
		screenshot(t, tab, "revoke-confirm")
		if !strings.Contains(text, "stops verifying") {
			t.Errorf("confirmation does not name the consequence: %s", text)
		}
		if got := jwksKIDs(t, s); len(got) != 2 {
			t.Fatalf("the confirmation page revoked already: %v", got)
		}
		var kids string
		runBrowser(t, tab,
			chromedp.Click(`button[name=confirm-revoke]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "Revoked")]`, chromedp.BySearch),
			chromedp.AttributeValue(`tr[data-kid="`+old+`"]`, "data-status", &status, nil),
			chromedp.Text(`#jwks-kids`, &kids),
		)
		if status != "revoked" {
			t.Errorf("revoked key shows %q", status)
		}
		if strings.Contains(kids, old) {
			t.Errorf("the page's JWKS still lists %s: %s", old, kids)
		}
		if got := jwksKIDs(t, s); len(got) != 1 || slices.Contains(got, old) {
			t.Errorf("served JWKS after revoking %s: %v", old, got)
		}
		// The revocation is audited with the administrator's id.
		adminID := s.login(t, adminEmail, adminPassword).UserID
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'key.revoked' AND kid = '"+old+"' AND actor = '"+adminID+"'"); n != 1 {
			t.Errorf("no audit event names the administrator who revoked")
		}
	})
}

// clientCredentials asks the token endpoint for a token with a client's
// id and secret (client_secret_basic) and returns the status and token.
func clientCredentials(t *testing.T, s *server, id, secret string) (int, string) {
	t.Helper()
	st, _, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)...)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st == http.StatusOK {
		decode(t, b, &tok)
	}
	return st, tok.AccessToken
}

// An administrator creates a confidential client from the console with
// its fields, reads the secret shown once and uses it in a real
// client_credentials request; rotates the secret (the old one stops
// working) and deletes the client. The built-in console client cannot be
// deleted.
func TestConsoleManagesClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		var id, secret, builtin string
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/clients"]`),
			chromedp.WaitVisible(`form.create-client`),
			chromedp.Text(`tr[data-client="sigil-console"]`, &builtin),
			chromedp.SendKeys(`#name`, "Billing worker"),
			chromedp.Click(`input[name=grant_types][value=client_credentials]`),
			chromedp.SendKeys(`#scopes`, "billing.read billing.write"),
			chromedp.SendKeys(`#audience`, "billing"),
			chromedp.SendKeys(`#token_ttl`, "5m"),
			chromedp.Click(`button[name=create-client]`),
			chromedp.WaitVisible(`#client-secret`),
			chromedp.Text(`#client-id`, &id),
			chromedp.Value(`#client-secret`, &secret),
		)
		screenshot(t, tab, "client-secret")
		if !strings.Contains(builtin, "built in") {
			t.Errorf("the console's own client row: %s", builtin)
		}
		st, tok := clientCredentials(t, s, id, secret)
		if st != http.StatusOK {
			t.Fatalf("client_credentials with the secret from the console: %d", st)
		}
		c := verifyWithJWKS(t, s, tok)
		if c["aud"] != "billing" || c["scope"] != "billing.read billing.write" || c["sub"] != id {
			t.Errorf("token of the console-made client: %v", c)
		}
		if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 {
			t.Errorf("token lifetime %v s, want 300", exp-iat)
		}

		// Invalid input comes back as an alert, nothing created.
		var alert string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/clients"),
			chromedp.WaitVisible(`form.create-client`),
			chromedp.SendKeys(`#name`, "Broken"),
			chromedp.SendKeys(`#redirect_uris`, "http://example.com/cb"),
			chromedp.Click(`button[name=create-client]`),
			chromedp.WaitVisible(`[role=alert]`),
			chromedp.Text(`[role=alert]`, &alert),
		)
		if !strings.Contains(alert, "redirect") {
			t.Errorf("alert for a plain-http redirect URI: %q", alert)
		}
		if n := countRowsWhere(t, dbURL, "clients", "name = 'Broken'"); n != 0 {
			t.Errorf("a refused client was stored")
		}

		// Rotate the secret.
		var rotated string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/clients"),
			chromedp.WaitVisible(`form.create-client`),
			chromedp.Click(`tr[data-client="`+id+`"] button[name=rotate-secret]`),
			chromedp.WaitVisible(`#client-secret`),
			chromedp.Value(`#client-secret`, &rotated),
		)
		if rotated == "" || rotated == secret {
			t.Fatalf("rotated secret %q", rotated)
		}
		if st, _ := clientCredentials(t, s, id, secret); st != http.StatusUnauthorized {
			t.Errorf("old secret after rotation: %d", st)
		}
		if st, _ := clientCredentials(t, s, id, rotated); st != http.StatusOK {
			t.Errorf("new secret: %d", st)
		}

		// Delete it.
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/clients"),
			chromedp.WaitVisible(`form.create-client`),
			chromedp.Click(`tr[data-client="`+id+`"] button[name=delete-client]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "deleted")]`, chromedp.BySearch),
		)
		screenshot(t, tab, "clients")
		if st, _ := clientCredentials(t, s, id, rotated); st != http.StatusUnauthorized {
			t.Errorf("deleted client: %d", st)
		}
		// The REST API refuses to delete the built-in client too.
		if st, _, _ := do(t, http.MethodDelete, s.Base+"/admin/clients/sigil-console", "", "", bearer(s.adminToken(t))...); st != http.StatusUnprocessableEntity {
			t.Errorf("DELETE of the console client: %d", st)
		}
	})
}

// An administrator finds users by email and pages through them, opens
// one, locks it (the user's login is refused, their sessions end),
// unlocks it, changes its roles, signs it out everywhere and deletes it.
func TestConsoleManagesUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		prefix := "paged-" + strings.ToLower(randomSuffix())
		for i := 0; i < 21; i++ {
			st, _, b := s.postJSON(t, "/auth/signup", map[string]string{"email": prefix + "-" + string(rune('a'+i)) + "@example.com", "password": "a user password"})
			if st != http.StatusCreated {
				t.Fatalf("signup %d: %d %s", i, st, b)
			}
		}
		email := uniqueEmail("lockme")
		sess := s.signupLogin(t, email, "a user password")

		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		var rows []string
		var next bool
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/users"]`),
			chromedp.WaitVisible(`#email`),
			chromedp.SendKeys(`#email`, prefix),
			chromedp.Click(`button[name=search]`),
			chromedp.WaitVisible(`a[rel=next]`),
			chromedp.Evaluate(`[...document.querySelectorAll("table.users tbody tr")].map(r => r.innerText)`, &rows),
		)
		screenshot(t, tab, "users")
		if len(rows) != 20 {
			t.Errorf("first page: %d rows", len(rows))
		}
		runBrowser(t, tab,
			chromedp.Click(`a[rel=next]`),
			chromedp.WaitVisible(`//a[text()="First page"]`, chromedp.BySearch),
			chromedp.Evaluate(`[...document.querySelectorAll("table.users tbody tr")].map(r => r.innerText)`, &rows),
			chromedp.Evaluate(`document.querySelector("a[rel=next]") !== null`, &next),
		)
		if len(rows) != 1 || !strings.Contains(rows[0], prefix) || next {
			t.Errorf("second page: %v (next link %v)", rows, next)
		}

		// Open the user and lock them.
		var state string
		runBrowser(t, tab,
			chromedp.Navigate(iss+"/console/users?email="+url.QueryEscape(email)),
			chromedp.WaitVisible(`table.users`),
			chromedp.Click(`//a[text()="`+email+`"]`, chromedp.BySearch),
			chromedp.WaitVisible(`#lock-state`),
			chromedp.Text(`table.sessions`, &state),
		)
		screenshot(t, tab, "user")
		if !strings.Contains(state, "refresh") && !strings.Contains(state, "sigil") {
			t.Errorf("the user's REST session is not listed:\n%s", state)
		}
		runBrowser(t, tab,
			chromedp.Click(`button[name=lock]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "locked")]`, chromedp.BySearch),
			chromedp.Text(`#lock-state`, &state),
		)
		if strings.TrimSpace(state) != "locked" {
			t.Errorf("state after locking: %q", state)
		}
		if st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "a user password"}); st == http.StatusOK {
			t.Errorf("a locked user logged in")
		}
		if got := refreshStatus(t, s, sess.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("refresh of a locked user's session: %d", got)
		}

		// Unlock, give roles, sign out everywhere.
		runBrowser(t, tab,
			chromedp.Click(`button[name=unlock]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "unlocked")]`, chromedp.BySearch),
		)
		again := s.login(t, email, "a user password")
		runBrowser(t, tab,
			chromedp.SetValue(`#roles`, "editor auditor"),
			chromedp.Click(`button[name=save-roles]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "roles are saved")]`, chromedp.BySearch),
			chromedp.Reload(),
			chromedp.WaitVisible(`button[name=revoke-sessions]`),
			chromedp.Click(`button[name=revoke-sessions]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "session")]`, chromedp.BySearch),
		)
		if roles := s.me(t, s.login(t, email, "a user password").Token).Roles; strings.Join(roles, " ") != "auditor editor" && strings.Join(roles, " ") != "editor auditor" {
			t.Errorf("roles after saving: %v", roles)
		}
		if got := refreshStatus(t, s, again.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("refresh after signing out everywhere: %d", got)
		}

		// Delete, with the confirmation ticked.
		runBrowser(t, tab,
			chromedp.Click(`input[name=confirm]`),
			chromedp.Click(`button[name=delete-user]`),
			chromedp.WaitVisible(`//div[contains(@class,"notice") and contains(., "deleted")]`, chromedp.BySearch),
		)
		if st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "a user password"}); st != http.StatusUnauthorized {
			t.Errorf("login of a deleted user: %d", st)
		}
		adminID := s.login(t, adminEmail, adminPassword).UserID
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'user.locked' AND actor = '"+adminID+"'"); n != 1 {
			t.Errorf("audit events of the lock by the administrator: %d", n)
		}
	})
}

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
			chromedp.SendKeys(`#type`, "login.failure"),
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

// inspectInConsole pastes a token into the inspector and returns the
// problem codes it lists (none for a valid token) and the claims shown.
func inspectInConsole(t *testing.T, tab context.Context, iss, tok, aud string) ([]string, string) {
	t.Helper()
	var codes []string
	var claims string
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/console/inspect"),
		chromedp.WaitVisible(`#token`),
		chromedp.Evaluate(`document.querySelector("#token").value = `+strconv.Quote(tok)+`; document.querySelector("#audience").value = `+strconv.Quote(aud), nil),
		chromedp.Click(`button[name=inspect]`),
		chromedp.WaitVisible(`#verdict`),
		chromedp.Evaluate(`[...document.querySelectorAll("ul.reasons li")].map(l => l.dataset.code)`, &codes),
		chromedp.Text(`#claims`, &claims),
	)
	return codes, claims
}

// The token inspector decodes a token on the server and says exactly why
// it fails: a good token verifies; a tampered signature, a wrong audience,
// a revoked token and a token of a revoked key each get their reason. The
// log never holds a token.
func TestConsoleInspectsTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, map[string]string{"SIGIL_LOG_LEVEL": "debug"})
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		user := s.signupLogin(t, uniqueEmail("inspected"), "a user password")
		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)

		codes, claims := inspectInConsole(t, tab, iss, user.Token, "")
		screenshot(t, tab, "inspect-valid")
		if len(codes) != 0 || !strings.Contains(claims, user.UserID) {
			t.Errorf("a good token: problems %v, claims %s", codes, claims)
		}
		parts := strings.Split(user.Token, ".")
		sig := []byte(parts[2])
		if sig[5] == 'A' {
			sig[5] = 'B'
		} else {
			sig[5] = 'A'
		}
		tampered := parts[0] + "." + parts[1] + "." + string(sig)
		if codes, _ = inspectInConsole(t, tab, iss, tampered, ""); !slices.Equal(codes, []string{"bad_signature"}) {
			t.Errorf("tampered signature: %v", codes)
		}
		if codes, _ = inspectInConsole(t, tab, iss, user.Token, "billing"); !slices.Equal(codes, []string{"wrong_audience"}) {
			t.Errorf("another audience: %v", codes)
		}
		if st, _, _ := s.postForm(t, "/oauth2/revoke", url.Values{"token": {user.Token}, "client_id": {"sigil"}}); st != http.StatusOK {
			t.Fatalf("revoke: %d", st)
		}
		if codes, _ = inspectInConsole(t, tab, iss, user.Token, ""); !slices.Equal(codes, []string{"revoked_jti"}) {
			t.Errorf("revoked token: %v", codes)
		}
		screenshot(t, tab, "inspect-revoked")

		// A token of a key revoked since (not the console's own key).
		other := s.login(t, adminEmail, adminPassword)
		kid := tokenHeader(t, other.Token)["kid"].(string)
		admin := bearer(other.Token)
		if st, _, b := s.postJSON(t, "/admin/keys/rotate", map[string]string{}, admin...); st != http.StatusCreated {
			t.Fatalf("rotate: %d %s", st, b)
		}
		fresh := bearer(s.login(t, adminEmail, adminPassword).Token)
		if st, _, b := s.postJSON(t, "/admin/keys/"+kid+"/revoke", nil, fresh...); st != http.StatusOK {
			t.Fatalf("revoke key: %d %s", st, b)
		}
		codes, _ = inspectInConsole(t, tab, iss, other.Token, "")
		if !slices.Contains(codes, "revoked_kid") {
			t.Errorf("token of a revoked key: %v", codes)
		}
		for _, tok := range []string{user.Token, other.Token, parts[2]} {
			if strings.Contains(s.stderr.String(), tok) || strings.Contains(s.stdout.String(), tok) {
				t.Errorf("the log holds a token inspected in the console")
			}
		}
	})
}
