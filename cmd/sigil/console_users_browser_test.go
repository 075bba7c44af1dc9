package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

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
			// The unfiltered list has a next link too: wait for the
			// search's own page before reading it.
			waitURL("email="),
			chromedp.WaitVisible(`a[rel=next]`),
			chromedp.Evaluate(`[...document.querySelectorAll("table.users tbody tr")].map(r => r.innerText)`, &rows),
		)
		screenshot(t, tab, "users")
		if len(rows) != 20 {
			t.Errorf("first page: %d rows", len(rows))
		}
		runBrowser(t, tab,
			chromedp.Click(`a[rel=next]`),
			waitURL("cursor="),
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

// waitURL waits until the tab's address contains part: a click that
// navigates returns before the new page is there, and the page it leaves
// may match the next wait too.
func waitURL(part string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var loc string
			if err := chromedp.Location(&loc).Do(ctx); err == nil && strings.Contains(loc, part) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
