package main

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

var setupLinkRE = regexp.MustCompile(`(http://\S+/setup\?token=[A-Za-z0-9_-]+)`)

// noAdminBrowserEnv is browserEnv without the bootstrap administrator: a
// first run.
func noAdminBrowserEnv(t *testing.T, dbURL string) map[string]string {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	return testEnv(dbURL, map[string]string{"SIGIL_ADDR": addr, "SIGIL_ISSUER": fmt.Sprintf("http://localhost:%s", port)})
}

// setupLink returns the set-up link the server printed at start.
func (s *server) setupLink(t *testing.T) string {
	t.Helper()
	m := setupLinkRE.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no set-up link in the start-up output:\n%s", s.stdout.String())
	}
	return m[1]
}

// createFirstAdmin fills the set-up page's form in the browser and waits
// for the console's overview.
func createFirstAdmin(link, email, password string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(link),
		chromedp.WaitVisible(`form[action="/setup"] input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.SendKeys(`input[name=confirm]`, password),
		chromedp.Click(`form[action="/setup"] button[type=submit]`),
		chromedp.WaitVisible(`#signing-alg`),
	}
}

// A first run with no administrator prints a one-time set-up link; in a
// browser it creates the first administrator (every field checked at
// once, as on sign-up), signs them in and lands in the console. The link
// is refused afterwards, with no form.
func TestSetupLinkCreatesFirstAdministrator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := noAdminBrowserEnv(t, dbURL)
		s := startServer(t, env)
		link := s.setupLink(t)
		if !strings.HasPrefix(link, env["SIGIL_ISSUER"]+"/setup?token=") {
			t.Fatalf("set-up link %s is not under the issuer %s", link, env["SIGIL_ISSUER"])
		}
		if code, _, body := do(t, "GET", env["SIGIL_ISSUER"]+"/setup?token=wrong", "", ""); code != http.StatusNotFound || strings.Contains(string(body), "<form") {
			t.Errorf("unknown token: %d, form shown: %v", code, strings.Contains(string(body), "<form"))
		}

		tab := newTab(t)
		var errs []string
		runBrowser(t, tab,
			chromedp.Navigate(link),
			chromedp.WaitVisible(`form[action="/setup"] button[type=submit]`),
			chromedp.SendKeys(`input[name=password]`, "short"),
			chromedp.Click(`form[action="/setup"] button[type=submit]`),
			chromedp.WaitVisible(`.field-error`),
			chromedp.Evaluate(`[...document.querySelectorAll('.field-error')].map(e => e.id)`, &errs),
		)
		if strings.Join(errs, ",") != "email-error,password-error" {
			t.Errorf("an empty email and a short password show errors %q, want both", errs)
		}
		runBrowser(t, tab,
			createFirstAdmin(link, "first@example.com", "first admin password"),
		)
		var text string
		runBrowser(t, tab, chromedp.Text(`main`, &text))
		if !strings.Contains(text, "first@example.com") {
			t.Errorf("the console does not show the new administrator:\n%s", text)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'first@example.com' AND is_admin AND email_verified"); n != 1 {
			t.Errorf("verified administrators first@example.com: %d", n)
		}
		s.login(t, "first@example.com", "first admin password")

		code, _, body := do(t, "GET", link, "", "")
		if code != http.StatusGone || strings.Contains(string(body), "<form") || !strings.Contains(string(body), "An administrator exists already") {
			t.Errorf("the used link: %d\n%s", code, body)
		}
	})
}

// The set-up link is good for an hour (the server's clock); no link is
// printed while an administrator exists.
func TestSetupLinkExpiresAndNeedsNoAdministrator(t *testing.T) {
	clock := newTestClock()
	env := noAdminBrowserEnv(t, storetest.SQLiteURL(t))
	s := startServerClock(t, env, clock.Now)
	link := s.setupLink(t)
	clock.Add(59 * time.Minute)
	if code, _, body := do(t, "GET", link, "", ""); code != http.StatusOK || !strings.Contains(string(body), `action="/setup"`) {
		t.Errorf("the link after 59 minutes: %d", code)
	}
	clock.Add(time.Minute)
	if code, _, body := do(t, "GET", link, "", ""); code != http.StatusNotFound || strings.Contains(string(body), "<form") || !strings.Contains(string(body), "an hour old") {
		t.Errorf("the link after an hour: %d\n%s", code, body)
	}

	admin := startServer(t, adminEnv(storetest.SQLiteURL(t), nil))
	if out := admin.stdout.String(); strings.Contains(out, "/setup") {
		t.Errorf("a server with an administrator printed a set-up link:\n%s", out)
	}
}
