package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// follow follows the redirects of p in b (absolute or relative to the
// issuer) and returns the first answer that is not one.
func follow(t *testing.T, b *browserless, p page) page {
	t.Helper()
	for i := 0; p.Status/100 == 3; i++ {
		if i == 10 {
			t.Fatalf("too many redirects, last to %s", p.Header.Get("Location"))
		}
		loc := p.Header.Get("Location")
		if strings.HasPrefix(loc, "/") {
			loc = b.origin + loc
		}
		p = b.get(loc)
	}
	return p
}

// consoleBrowserless signs email in to the console at iss the way a
// browser does: the console sends it to the authorization endpoint as
// its client, the login page signs it in, the callback opens the console
// session. It returns the browser, on the console's overview.
func consoleBrowserless(t *testing.T, iss, email, password string) *browserless {
	t.Helper()
	b := newBrowserless(t, iss)
	login := follow(t, b, b.get(iss+"/console/"))
	if login.Status != http.StatusOK || !strings.Contains(login.Body, `name="password"`) {
		t.Fatalf("the console's sign-in: %d\n%.300s", login.Status, login.Body)
	}
	if p := follow(t, b, b.signIn(login, email, password)); p.Status != http.StatusOK || !strings.Contains(p.Body, "sign-out") {
		t.Fatalf("console after sign-in: %d\n%.500s", p.Status, p.Body)
	}
	return b
}

// wantConsoleSignIn checks that the console's overview in b sends the
// browser to sign in again rather than showing the page.
func wantConsoleSignIn(t *testing.T, b *browserless, what string) {
	t.Helper()
	p := b.get(b.origin + "/console/")
	if p.Status != http.StatusSeeOther || p.Location().Path != "/oauth2/authorize" || p.Location().Query().Get("client_id") != "sigil-console" {
		t.Fatalf("%s: the console answered %d (Location %q), want a redirect to its sign-in\n%.300s", what, p.Status, p.Header.Get("Location"), p.Body)
	}
}

// The console and the admin API read the administrator's account again on
// every request: a locked, deleted or demoted administrator is signed out
// of the console at the next page, and their unexpired token is refused by
// the admin API at once. The console here runs on an instance whose clock
// stands still, so its copy of the deny list is never refreshed: what
// refuses the administrator is the account, not the deny list (which
// another instance reaches only within its refresh interval).
func TestConsoleAndAdminAPIRecheckTheAdministrator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		iss := env["SIGIL_ISSUER"]
		other := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_ISSUER": iss}))
		root := other.adminToken(t)
		frozen := time.Now()
		s := startServerClock(t, env, func() time.Time { return frozen })

		const pw = "an administrator's password"
		for _, c := range []struct {
			what   string
			change func(id string)
			status int
		}{
			{"locked", func(id string) {
				if st, _, b := other.postJSON(t, "/admin/users/"+id+"/lock", nil, bearer(root)...); st/100 != 2 {
					t.Fatalf("lock: %d %s", st, b)
				}
			}, http.StatusUnauthorized},
			{"no longer admin", func(id string) {
				if st, _, b := other.send(t, http.MethodPut, "/admin/users/"+id+"/roles", map[string]any{"roles": []string{"ops"}}, bearer(root)...); st/100 != 2 {
					t.Fatalf("remove the admin role: %d %s", st, b)
				}
			}, http.StatusForbidden},
			{"deleted", func(id string) {
				if st, _, b := do(t, http.MethodDelete, other.Base+"/admin/users/"+id, "", "", bearer(root)...); st != http.StatusNoContent {
					t.Fatalf("delete: %d %s", st, b)
				}
			}, http.StatusUnauthorized},
		} {
			email := uniqueEmail("ops")
			id := other.signupLogin(t, email, pw).UserID
			if st, _, b := other.send(t, http.MethodPut, "/admin/users/"+id+"/roles", map[string]any{"roles": []string{"admin", "ops"}}, bearer(root)...); st/100 != 2 {
				t.Fatalf("make %s an administrator: %d %s", email, st, b)
			}
			b := consoleBrowserless(t, s.Issuer, email, pw)
			tok := s.login(t, email, pw).Token
			if st, _, body := s.get(t, "/admin/users", bearer(tok)...); st != http.StatusOK {
				t.Fatalf("admin API before: %d %s", st, body)
			}
			if p := b.get(iss + "/console/users"); p.Status != http.StatusOK {
				t.Fatalf("console before: %d\n%.300s", p.Status, p.Body)
			}

			c.change(id)
			wantConsoleSignIn(t, b, c.what)
			st, h, body := s.get(t, "/admin/users", bearer(tok)...)
			if st != c.status || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") || h.Get("WWW-Authenticate") == "" {
				t.Fatalf("admin API, administrator %s: %d %v %s, want %d", c.what, st, h, body, c.status)
			}
			// Signing in again gets no console session.
			p := follow(t, b, b.get(iss+"/console/"))
			if p.Status == http.StatusOK && strings.Contains(p.Body, "sign-out") {
				t.Fatalf("administrator %s: the console opened again", c.what)
			}
			if p := b.signIn(p, email, pw); p.Status == http.StatusSeeOther {
				if q := follow(t, b, p); q.Status == http.StatusOK && strings.Contains(q.Body, "sign-out") && !strings.Contains(q.Body, "not for") {
					t.Fatalf("administrator %s: signed in to the console again\n%.300s", c.what, q.Body)
				}
			}
		}
	})
}
