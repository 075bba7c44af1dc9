package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

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
