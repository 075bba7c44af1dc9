package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

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
