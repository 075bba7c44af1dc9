package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Garbage posted to every form of the hosted pages gets a page with a
// 4xx status, never a 500, and writes nothing.
func TestHostilePageForms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, map[string]string{"SIGIL_RATE_LIMIT": "1/s"})
		b := newBrowserless(t, f.iss)
		csrf := hidden(b.get(f.iss + "/login")).Get("csrf_token")
		huge := strings.Repeat("A", 60<<10)
		bodies := []url.Values{
			{"csrf_token": {csrf}},
			{"csrf_token": {csrf}, "authz": {"%zz"}},
			{"csrf_token": {csrf}, "authz": {huge}},
			{"csrf_token": {csrf}, "authz": {"client_id=\x00&redirect_uri=\xff"}},
			{"csrf_token": {csrf}, "email": {"\x00"}, "password": {huge}},
			{"csrf_token": {csrf}, "email": {"' OR 1=1 --"}, "password": {"x"}, "name": {"\u202e"}},
			{"csrf_token": {csrf}, "consent": {"maybe"}, "authz": {"client_id=" + f.confID}},
			{"csrf_token": {csrf}, "client_id": {"\x00"}, "id_token_hint": {"a.b.c"}},
			{"csrf_token": {csrf, csrf}},
			{"csrf_token": {csrf}, "user_code": {"\x00"}, "device": {"\x00"}, "consent": {"allow"}},
			{"csrf_token": {csrf}, "user_code": {huge}, "device": {huge}, "consent": {"deny"}},
			{"csrf_token": {csrf}, "user_code": {"BCDF-GHJK\xff"}, "device": {"' OR 1=1 --"}, "consent": {"allow"}, "step": {"a.b.c"}},
			{"csrf_token": {csrf}, "authz": {"device=\x00"}, "email": {"x@example.com"}, "password": {"x"}},
			{"csrf_token": {csrf}, "authz": {"device=AAAAAAAAAAAAAAAAAAAAAA"}, "email": {"x@example.com"}, "password": {"x"}},
			{"csrf_token": {csrf}, "upstream": {"\x00"}, "ticket": {"\x00"}, "password": {huge}},
			{"csrf_token": {csrf}, "upstream": {huge}, "ticket": {huge}, "cancel": {"1"}},
			{"csrf_token": {csrf}, "upstream": {"../admin"}, "ticket": {"' OR 1=1 --"}, "password": {"x"}, "link_ticket": {"x"}},
		}
		before := countRowsWhere(t, dbURL, "users", "1=1")
		for _, path := range []string{"/login", "/signup", "/consent", "/account/consents/revoke", "/oauth2/logout", "/oauth2/authorize", "/device", "/device/confirm",
			"/login/upstream", "/login/upstream/link"} {
			for _, body := range bodies {
				p := b.post(f.iss+path, body)
				if p.Status >= 500 || (p.Status >= 200 && p.Status < 300 && path != "/oauth2/logout") && !strings.Contains(p.Body, `role="alert"`) {
					t.Errorf("POST %s %.80v: %d\n%.300s", path, body, p.Status, p.Body)
				}
			}
		}
		if n := countRowsWhere(t, dbURL, "users", "1=1"); n != before {
			t.Errorf("hostile page posts created %d users", n-before)
		}
		// The sign-in page shares the per-client rate limit (1/s here,
		// burst 2): a burst of posts is refused with 429 and Retry-After.
		login := b.get(f.iss + "/login")
		var limited bool
		for i := 0; i < 5 && !limited; i++ {
			p := b.signIn(login, "nobody@example.com", "whatever pw")
			limited = p.Status == http.StatusTooManyRequests && p.Header.Get("Retry-After") != ""
		}
		if !limited {
			t.Error("the sign-in page is not rate limited")
		}
	})
}

// Every form of the hosted pages refuses a post without its CSRF token,
// or from another origin, before changing anything; every page sends the
// security headers.
func TestHostedPagesCSRFAndHeaders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := newBrowserless(t, f.iss)
		login := b.get(f.iss + "/login")
		for _, p := range []page{login, b.get(f.iss + "/signup"), b.get(f.authorizeURL(f.confID, withPKCE(nil))), b.get(f.iss + "/oauth2/logout"),
			b.get(f.authorizeURL("nobody", nil))} {
			csp := p.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") ||
				p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("Referrer-Policy") != "no-referrer" || p.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("page headers: CSP %q XFO %q", csp, p.Header.Get("X-Frame-Options"))
			}
		}
		if c := login.Header.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
			t.Errorf("CSRF cookie %q", c)
		}

		before := countRowsWhere(t, dbURL, "browser_sessions", "1=1")
		form := hidden(login)
		form.Set("email", userEmail)
		form.Set("password", userPassword)
		noToken := url.Values{"email": {userEmail}, "password": {userPassword}}
		if p := b.post(f.iss+"/login", noToken); p.Status != http.StatusForbidden || !strings.Contains(p.Body, `role="alert"`) {
			t.Errorf("login without CSRF token: %d", p.Status)
		}
		wrong := url.Values{"email": {userEmail}, "password": {userPassword}, "csrf_token": {strings.Repeat("A", 43)}}
		if p := b.post(f.iss+"/login", wrong); p.Status != http.StatusForbidden {
			t.Errorf("login with another CSRF token: %d", p.Status)
		}
		cross := newBrowserless(t, "http://evil.example")
		cross.c.Jar = b.c.Jar
		if p := cross.post(f.iss+"/login", form); p.Status != http.StatusForbidden {
			t.Errorf("login posted from another origin: %d", p.Status)
		}
		if p := b.post(f.iss+"/signup", url.Values{"email": {"x@example.com"}, "password": {"long enough pw"}}); p.Status != http.StatusForbidden {
			t.Errorf("signup without CSRF token: %d", p.Status)
		}
		if n := countRowsWhere(t, dbURL, "browser_sessions", "1=1"); n != before {
			t.Errorf("refused posts created %d sessions", n-before)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'x@example.com'"); n != 0 {
			t.Error("a refused signup created the account")
		}
		// With the token, the same form signs in.
		if p := b.post(f.iss+"/login", form); p.Status != http.StatusSeeOther {
			t.Errorf("login with the token: %d", p.Status)
		}
		// A logout post with a wrong CSRF token changes nothing.
		if p := b.post(f.iss+"/oauth2/logout", url.Values{"csrf_token": {strings.Repeat("B", 43)}}); p.Status != http.StatusForbidden {
			t.Errorf("logout with a wrong CSRF token: %d", p.Status)
		}
		if p := b.get(f.iss + "/account"); p.Status != http.StatusOK || !strings.Contains(p.Body, userEmail) {
			t.Errorf("account after a refused logout: %d", p.Status)
		}
	})
}

// The sign-in page gives one answer for an unknown email and a wrong
// password, and locks an account after the lockout threshold like
// /auth/login, with a 429 and Retry-After.
func TestHostedLoginFailuresAndLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := newBrowserless(t, f.iss)
		login := b.get(f.iss + "/login")
		unknown := b.signIn(login, "nobody@example.com", userPassword)
		wrong := b.signIn(login, userEmail, "wrong password!")
		alert := func(p page) string {
			i := strings.Index(p.Body, `role="alert">`)
			if i < 0 {
				return ""
			}
			return p.Body[i : i+strings.Index(p.Body[i:], "<")]
		}
		if unknown.Status != http.StatusUnauthorized || wrong.Status != http.StatusUnauthorized || alert(unknown) == "" || alert(unknown) != alert(wrong) {
			t.Errorf("unknown email %d %q, wrong password %d %q: want the same 401 message", unknown.Status, alert(unknown), wrong.Status, alert(wrong))
		}
		for i := 0; i < 4; i++ {
			b.signIn(login, userEmail, "wrong password!")
		}
		locked := b.signIn(login, userEmail, userPassword)
		if locked.Status != http.StatusTooManyRequests || locked.Header.Get("Retry-After") == "" || alert(locked) == "" {
			t.Errorf("locked account: %d Retry-After %q alert %q", locked.Status, locked.Header.Get("Retry-After"), alert(locked))
		}
		// The REST login agrees: the lockout is the account's.
		if st, _, _ := f.s.postJSON(t, "/auth/login", map[string]string{"email": userEmail, "password": userPassword}); st != http.StatusTooManyRequests {
			t.Errorf("REST login of a locked account: %d", st)
		}
	})
}
