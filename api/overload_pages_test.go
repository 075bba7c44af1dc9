package api

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/web"
)

// The hosted sign-in and sign-up forms share the API's admission: while
// every hashing slot and queue place is taken, POST /login and POST
// /signup are refused before their form is read or an account looked
// up, with the busy page (503, Retry-After, HTML) held for the queue wait
// and counted with the API's refusals; once the place is free the post
// reaches the form handler again (this fixture has no browser sign-in
// flow: a post whose CSRF token does not match gets the form-expired
// page; TestPages* sign in through the page end to end).
func TestLoginPageRefusedAtAdmissionLikeTheAPI(t *testing.T) {
	const hold = 200 * time.Millisecond
	st, srv, ts, release, first := busyServerWith(t, hold, nil, func(s *Server) {
		if err := s.MountPages(web.Config{Issuer: "http://sigil.test"}); err != nil {
			t.Fatal(err)
		}
	})
	defer ts.Close()
	defer release()
	lookups := st.lookups()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([A-Za-z0-9_-]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /login: %d, CSRF token found: %v", resp.StatusCode, m != nil)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "email": {"ada@example.com"}, "password": {"correct horse battery"}}
	post := func(path string, f url.Values) (*http.Response, string, time.Duration) {
		start := time.Now()
		resp, err := c.PostForm(ts.URL+path, f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b), time.Since(start)
	}
	for _, path := range []string{"/login", "/signup"} {
		f := form
		if path == "/signup" {
			f = url.Values{"csrf_token": {string(m[1])}, "email": {"bob@example.com"}, "password": {"correct horse battery"}, "name": {"Bob"}}
		}
		resp, body, waited := post(path, f)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Temporarily unavailable") {
			t.Fatalf("POST %s while full: %d %v\n%s", path, resp.StatusCode, resp.Header, body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("POST %s: the busy page has no CSP", path)
		}
		if waited < hold {
			t.Errorf("POST %s: refusal written after %s, want it held for the queue wait (%s)", path, waited, hold)
		}
	}
	if n := st.lookups(); n != lookups {
		t.Errorf("refused posts read accounts: %d lookups, want %d", n, lookups)
	}
	if got := counterValue(t, srv, "sigil_overload_refusals_total"); got != 2 {
		t.Errorf("sigil_overload_refusals_total = %v, want 2", got)
	}

	release()
	if st := <-first; st != http.StatusOK {
		t.Fatalf("admitted login: %d", st)
	}
	form.Set("csrf_token", strings.Repeat("x", 43))
	resp, body, waited := post("/login", form)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Form expired") || waited >= hold {
		t.Fatalf("POST /login after release: %d after %s\n%s", resp.StatusCode, waited, body)
	}
}
