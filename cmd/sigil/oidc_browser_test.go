package main

import (
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A person signs in through Sigil's hosted pages in a real browser, on
// behalf of real OpenID Connect clients (x/oauth2 with PKCE, go-oidc
// verifying the ID token from discovery and the JWKS): a third-party
// confidential client with consent, then single sign-on into a public
// first-party client, prompt=none with a session, RP-initiated logout that
// revokes the session's refresh tokens, and prompt=none without a session.
func TestOIDCBrowserSignInSSOAndLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		admin := s.adminToken(t)
		s.signupLogin(t, "ada@example.com", "correct horse battery")

		web := newRelyingParty(t, iss)
		webID, webSecret := s.oidcClient(t, admin, map[string]any{"name": "Photo Gallery",
			"redirectUris": []string{web.Callback()}, "postLogoutRedirectUris": []string{web.LoggedOut()}, "audience": "gallery"})
		web.configure(webID, webSecret, "openid", "email", "profile", "offline_access")

		spa := newRelyingParty(t, iss)
		spaID, _ := s.oidcClient(t, admin, map[string]any{"name": "Dashboard", "public": true, "firstParty": true,
			"redirectUris": []string{spa.Callback()}})
		spa.configure(spaID, "", "openid", "email")

		tab := newTab(t)
		var consentText, result string
		runBrowser(t, tab,
			chromedp.Navigate(web.srv.URL+"/start"),
			chromedp.WaitVisible(`input[name=email]`),
		)
		screenshot(t, tab, "login")
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=email]`, "ada@example.com"),
			chromedp.SendKeys(`input[name=password]`, "correct horse battery"),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`button[name=consent][value=allow]`),
			chromedp.Text(`main`, &consentText),
		)
		screenshot(t, tab, "consent")
		for _, want := range []string{"Photo Gallery", "email", "profile", "offline_access", "ada@example.com"} {
			if !strings.Contains(consentText, want) {
				t.Errorf("consent page does not mention %q:\n%s", want, consentText)
			}
		}
		runBrowser(t, tab,
			chromedp.Click(`button[name=consent][value=allow]`),
			chromedp.WaitVisible(`#result`),
			chromedp.Text(`#result`, &result),
		)
		first := web.result(t)
		if first.Err != "" || !first.Verified || result != "signed in as ada@example.com" {
			t.Fatalf("first sign-in: %+v, page %q", first, result)
		}
		c := first.Claims
		if c.Email != "ada@example.com" || c.EmailVerified == nil || c.Name == nil || *c.Name != "Test User" ||
			c.SID == "" || !slices.Equal(c.AMR, []string{"pwd"}) || c.AuthTime == 0 || c.AtHash == "" {
			t.Errorf("ID token claims %+v", c)
		}
		if first.Token.RefreshToken == "" {
			t.Error("offline_access with consent gave no refresh token")
		}
		// The access token is Sigil's at+jwt for the client's audience.
		at := verifyAccessToken(t, s, first.Token.AccessToken, "gallery")
		if at.ClientID != webID || at.Subject != c.Sub || !strings.Contains(at.Scope, "openid") {
			t.Errorf("access token claims %+v", at)
		}
		st, _, body := s.get(t, "/oauth2/userinfo", bearer(first.Token.AccessToken)...)
		if st != http.StatusOK || !strings.Contains(string(body), `"email":"ada@example.com"`) || !strings.Contains(string(body), `"sub":"`+c.Sub+`"`) {
			t.Errorf("userinfo: %d %s", st, body)
		}

		// Single sign-on: the first-party public client gets a code at
		// once, with the same session id.
		runBrowser(t, tab, chromedp.Navigate(spa.srv.URL+"/start"), chromedp.WaitVisible(`#result`), chromedp.Text(`#result`, &result))
		second := spa.result(t)
		if second.Err != "" || second.Claims.SID != c.SID || second.Claims.Sub != c.Sub || second.Token.RefreshToken != "" {
			t.Fatalf("single sign-on: %+v, page %q", second, result)
		}
		// prompt=none with a session: a code, no page.
		runBrowser(t, tab, chromedp.Navigate(web.srv.URL+"/start?prompt=none"), chromedp.WaitVisible(`#result`))
		if r := web.result(t); r.Err != "" || r.Claims.SID != c.SID {
			t.Fatalf("prompt=none with a session: %+v", r)
		}

		// RP-initiated logout with id_token_hint: straight back with state.
		logout := iss + "/oauth2/logout?" + url.Values{"id_token_hint": {first.RawID},
			"post_logout_redirect_uri": {web.LoggedOut()}, "state": {"bye"}}.Encode()
		runBrowser(t, tab, chromedp.Navigate(logout), chromedp.WaitVisible(`#result`), chromedp.Text(`#result`, &result))
		if r := web.result(t); r.Err != "logged_out" || r.State != "bye" {
			t.Fatalf("logout: %+v (%q)", r, result)
		}
		// The session's refresh token is revoked.
		st, h, body := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.Token.RefreshToken}}, basic(webID, webSecret)...)
		wantOAuthError(t, "refresh after logout", st, h, body, 400, "invalid_grant")
		// prompt=none without a session: login_required, back at the client.
		runBrowser(t, tab, chromedp.Navigate(spa.srv.URL+"/start?prompt=none"), chromedp.WaitVisible(`#result`))
		if r := spa.result(t); r.Err != "login_required" {
			t.Fatalf("prompt=none after logout: %+v", r)
		}
	})
}

// GET /login on its own signs a person in to Sigil itself and lands on
// their account page; /account without a session goes to /login; the
// sign-up page creates an account and signs it in; the account page's
// sign-out ends the session. Also: the form is usable with the keyboard
// alone (tab order email, password, submit; Enter submits).
func TestBrowserAccountSignUpAndSignOut(t *testing.T) {
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	s := startServer(t, env)
	iss := env["SIGIL_ISSUER"]
	tab := newTab(t)
	var loc, text string
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/account"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.Location(&loc),
	)
	if loc != iss+"/login" {
		t.Fatalf("/account without a session went to %s", loc)
	}
	runBrowser(t, tab,
		chromedp.Click(`a[href^="/signup"]`),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "Lin"),
		chromedp.SendKeys(`input[name=email]`, "lin@example.com"),
		chromedp.SendKeys(`input[name=password]`, "short"),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`[role=alert]`),
		chromedp.Text(`[role=alert]`, &text),
	)
	screenshot(t, tab, "signup-error")
	if !strings.Contains(text, "Password") {
		t.Errorf("signup error %q", text)
	}
	runBrowser(t, tab,
		chromedp.SendKeys(`input[name=password]`, "long enough password"),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`dl.profile`),
		chromedp.Text(`main`, &text),
		chromedp.Location(&loc),
	)
	screenshot(t, tab, "account")
	if loc != iss+"/account" || !strings.Contains(text, "lin@example.com") || !strings.Contains(text, "Lin") {
		t.Fatalf("after sign-up: %s\n%s", loc, text)
	}
	runBrowser(t, tab,
		chromedp.Click(`form[action="/oauth2/logout"] button[type=submit]`),
		chromedp.WaitVisible(`a[href="/login"]`),
		chromedp.Text(`main`, &text),
	)
	if !strings.Contains(text, "signed out") {
		t.Errorf("after sign-out: %s", text)
	}
	// Keyboard only: focus starts in the email field; Tab reaches the
	// password, Enter submits.
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.KeyEvent("lin@example.com"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("long enough password"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`dl.profile`),
		chromedp.Location(&loc),
	)
	if loc != iss+"/account" {
		t.Errorf("keyboard sign-in went to %s", loc)
	}
	_ = s
}

// The README's example: examples/oidc-webapp, built and run as a separate
// program, signs a person in through Sigil in the browser and out again.
func TestExampleWebAppSignsIn(t *testing.T) {
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	s := startServer(t, env)
	iss := env["SIGIL_ISSUER"]
	admin := s.adminToken(t)
	s.signupLogin(t, "ada@example.com", "correct horse battery")

	bin := filepath.Join(t.TempDir(), "oidc-webapp")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/oidc-webapp").CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	id, secret := s.oidcClient(t, admin, map[string]any{"name": "Example app", "firstParty": true,
		"redirectUris": []string{"http://" + addr + "/callback"}, "postLogoutRedirectUris": []string{"http://" + addr + "/"}})
	cmd := exec.Command(bin, "-issuer", iss, "-client-id", id, "-client-secret", secret, "-addr", addr)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, addr)

	tab := newTab(t)
	var who string
	runBrowser(t, tab,
		chromedp.Navigate("http://"+addr+"/"),
		chromedp.Click(`#login`),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, "ada@example.com"),
		chromedp.SendKeys(`input[name=password]`, "correct horse battery"),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`#logout`),
		chromedp.Text(`#who`, &who),
	)
	if who != "Signed in as ada@example.com (Test User)" {
		t.Fatalf("example app says %q\n%s", who, logs.String())
	}
	runBrowser(t, tab, chromedp.Click(`#logout`), chromedp.WaitVisible(`#login`), chromedp.Text(`#who`, &who))
	if who != "Not signed in." {
		t.Fatalf("after sign-out: %q", who)
	}
	// Sigil's session ended too: signing in again shows the form.
	runBrowser(t, tab, chromedp.Click(`#login`), chromedp.WaitVisible(`input[name=password]`))
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
