package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A browser opening the server's address gets a landing page that says
// what the server is and links to the pages and the discovery documents;
// an API client asking for / still gets the JSON 404.
func TestLandingPage(t *testing.T) {
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	s := startServer(t, env)
	iss := env["SIGIL_ISSUER"]

	status, hdr, body := do(t, http.MethodGet, iss+"/", "", "", "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / for a browser: %d %s\n%s", status, hdr.Get("Content-Type"), body)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("landing page CSP %q", csp)
	}
	if hdr.Get("X-Frame-Options") != "DENY" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("landing page headers %v", hdr)
	}
	page := string(body)
	for _, href := range []string{"/login", "/account", "/console/", "/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		if !strings.Contains(page, `href="`+href+`"`) {
			t.Errorf("landing page has no link to %s", href)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "https://") {
		t.Errorf("landing page loads something from elsewhere or a script:\n%s", page)
	}

	for _, accept := range []string{"", "application/json", "*/*", "text/html;q=0"} {
		var h []string
		if accept != "" {
			h = []string{"Accept", accept}
		}
		status, hdr, body := s.get(t, "/", h...)
		if status != http.StatusNotFound || hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET / with Accept %q: %d %s\n%s", accept, status, hdr.Get("Content-Type"), body)
		}
	}

	tab := newTab(t)
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1280, 800}} {
		var title string
		runBrowser(t, tab,
			chromedp.EmulateViewport(size.w, size.h),
			chromedp.Navigate(iss+"/"),
			chromedp.WaitVisible(`a[href="/login"]`),
			chromedp.Title(&title),
		)
		if !strings.Contains(title, "Sigil") {
			t.Errorf("landing page title %q", title)
		}
		t.Logf("screenshot %s", screenshot(t, tab, "landing-"+map[int64]string{390: "phone", 1280: "desktop"}[size.w]))
	}
	var loc string
	runBrowser(t, tab,
		chromedp.Click(`a[href="/login"]`),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.Location(&loc),
	)
	if loc != iss+"/login" {
		t.Errorf("the sign-in link led to %s", loc)
	}
}
