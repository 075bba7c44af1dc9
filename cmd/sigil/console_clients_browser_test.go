package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

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
		env := browserEnv(t, dbURL, map[string]string{"SIGIL_REGISTRATION": "open"})
		s := startServer(t, env)
		// A client that registered itself is marked as such.
		agent := s.register(t, mcpMetadata)
		iss := env["SIGIL_ISSUER"]
		tab := newTab(t)
		consoleSignIn(t, tab, iss, adminEmail, adminPassword, `#signing-alg`)
		var id, secret, builtin, registeredMark string
		runBrowser(t, tab,
			chromedp.Click(`a[href="/console/clients"]`),
			chromedp.WaitVisible(`form.create-client`),
			chromedp.Text(`tr[data-client="sigil-console"]`, &builtin),
			chromedp.Text(`tr[data-client="`+agent.ClientID+`"] .registered`, &registeredMark),
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
		if registeredMark != "registered" || strings.Contains(builtin, "registered") {
			t.Errorf("registered marker %q; the console's own row: %s", registeredMark, builtin)
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
