package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// auditRun is one store's page audit: a first-run server (no
// administrator, so the set-up page is reachable), its mail and clock.
type auditRun struct {
	axe, dir string
	iss      string
	s        *server
	mp       *mailpit
	clock    *testClock
}

// open gives a tab for the audit: a long deadline (it walks many pages)
// and the pages' CSP bypassed, so that axe-core can be injected.
func (a *auditRun) open(t *testing.T) context.Context {
	tab := newTabFor(t, 8*time.Minute)
	runBrowser(t, tab, bypassCSP())
	return tab
}

// check audits the page the tab shows under name.
func (a *auditRun) check(t *testing.T, tab context.Context, name string) {
	t.Helper()
	checkPage(t, tab, a.axe, a.dir, name)
}

// Every hosted page and every console page, at 1280×800 and 390×844,
// passes axe-core's WCAG 2.1 A and AA rules (no serious or critical
// violation), does not scroll sideways on a phone, keeps every action
// in sight on a desktop and draws no text over text. Each page's
// screenshots are saved: `make screenshots` writes them to docs/screens.
func TestPagesAudit(t *testing.T) {
	axe := loadAxe(t)
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		a := &auditRun{axe: axe, dir: t.TempDir(), mp: mp, clock: newTestClock()}
		if strings.HasPrefix(dbURL, "sqlite") {
			a.dir = screenshotsDir(t)
		}
		env := mp.mailEnv(noAdminBrowserEnv(t, dbURL))
		env["SIGIL_REGISTRATION"] = "open" // for the consent page of a client that registered itself
		a.s = startServerClock(t, env, a.clock.Now)
		a.iss = env["SIGIL_ISSUER"]
		link := a.s.setupLink(t)

		tab := a.open(t)
		runBrowser(t, tab, chromedp.Navigate(a.iss+"/setup?token=unknown"), chromedp.WaitVisible(`[role=alert]`))
		a.check(t, tab, "setup-dead")
		runBrowser(t, tab, chromedp.Navigate(link), chromedp.WaitVisible(`form[action="/setup"]`))
		a.check(t, tab, "setup")
		runBrowser(t, tab, createFirstAdmin(link, adminEmail, adminPassword))

		t.Run("console", func(t *testing.T) {
			t.Parallel()
			a.auditConsole(t, tab, link)
		})
		t.Run("hosted", func(t *testing.T) {
			t.Parallel()
			a.auditHosted(t, a.open(t))
		})
	})
}

// auditConsole walks the console, signed in as the administrator the
// set-up page created, then the pages a user who is not one sees.
func (a *auditRun) auditConsole(t *testing.T, tab context.Context, setupLink string) {
	iss := a.iss
	a.check(t, tab, "console-overview")
	admin := a.s.login(t, adminEmail, adminPassword)

	runBrowser(t, tab, chromedp.Navigate(iss+"/console/users"), chromedp.WaitVisible(`#email`))
	a.check(t, tab, "console-users")
	runBrowser(t, tab, chromedp.Navigate(iss+"/console/users/"+admin.UserID), chromedp.WaitVisible(`#lock-state`))
	a.check(t, tab, "console-user")

	runBrowser(t, tab, chromedp.Navigate(iss+"/console/clients"), chromedp.WaitVisible(`form.create-client`))
	a.check(t, tab, "console-clients-empty")
	runBrowser(t, tab,
		chromedp.SendKeys(`#name`, "Billing worker"),
		chromedp.Click(`input[name=grant_types][value=client_credentials]`),
		chromedp.SendKeys(`#scopes`, "billing.read billing.write"),
		chromedp.SendKeys(`#audience`, "billing"),
		chromedp.Click(`button[name=create-client]`),
		chromedp.WaitVisible(`#client-secret`),
	)
	a.check(t, tab, "console-secret")
	runBrowser(t, tab, chromedp.Navigate(iss+"/console/clients"), chromedp.WaitVisible(`form.create-client`))
	a.check(t, tab, "console-clients")

	runBrowser(t, tab, chromedp.Navigate(iss+"/console/keys"), chromedp.WaitVisible(`table.timeline`))
	a.check(t, tab, "console-keys")
	runBrowser(t, tab, chromedp.Click(`a.revoke`), chromedp.WaitVisible(`button[name=confirm-revoke]`))
	a.check(t, tab, "console-key-revoke")

	runBrowser(t, tab,
		chromedp.Navigate(iss+"/console/resources"),
		chromedp.WaitVisible(`form.create-resource`),
		chromedp.SendKeys(`#uri`, "https://api.example.com/billing"),
		chromedp.SendKeys(`#name`, "Billing API"),
		chromedp.Click(`button[name=create-resource]`),
		chromedp.WaitVisible(`//td[contains(., "Billing API")]`, chromedp.BySearch),
	)
	a.check(t, tab, "console-resources")

	runBrowser(t, tab,
		chromedp.Navigate(iss+"/console/upstreams"),
		chromedp.WaitVisible(`form.create-upstream`),
		chromedp.SendKeys(`#id`, "partner"),
		chromedp.SendKeys(`#name`, "Partner SSO"),
		chromedp.SendKeys(`#issuer`, "http://idp.example.com"),
		chromedp.SendKeys(`#client_id`, "sigil"),
		chromedp.SendKeys(`#client_secret`, "a client secret"),
		chromedp.Click(`button[name=create-upstream]`),
		chromedp.WaitVisible(`#issuer-error`),
	)
	a.check(t, tab, "console-upstreams-error")
	runBrowser(t, tab,
		chromedp.SetValue(`#issuer`, "https://login.example.com/tenant-0d9f1c7e/v2.0"),
		chromedp.SendKeys(`#client_secret`, "a client secret"),
		chromedp.Click(`button[name=create-upstream]`),
		chromedp.WaitVisible(`#callback-url`),
	)
	a.check(t, tab, "console-upstream")
	runBrowser(t, tab, chromedp.Navigate(iss+"/console/upstreams"), chromedp.WaitVisible(`tr[data-upstream=partner]`))
	a.check(t, tab, "console-upstreams")
	runBrowser(t, tab, chromedp.Click(`tr[data-upstream=partner] a.delete`), chromedp.WaitVisible(`button[name=confirm-delete]`))
	a.check(t, tab, "console-upstream-delete")
	// Deleted again: the hosted pages, audited meanwhile, show their own
	// upstream "corp" alone for all but a moment.
	runBrowser(t, tab, chromedp.Click(`button[name=confirm-delete]`), chromedp.WaitVisible(`form.create-upstream`))

	runBrowser(t, tab, chromedp.Navigate(iss+"/console/audit"), chromedp.WaitVisible(`table.audit`))
	a.check(t, tab, "console-audit")

	runBrowser(t, tab, chromedp.Navigate(iss+"/console/inspect"), chromedp.WaitVisible(`#token`))
	a.check(t, tab, "console-inspect")
	runBrowser(t, tab,
		chromedp.SendKeys(`#token`, admin.Token),
		chromedp.Click(`button[name=inspect]`),
		chromedp.WaitVisible(`#verdict`),
	)
	a.check(t, tab, "console-inspect-result")

	other := a.open(t)
	email := uniqueEmail("not-admin")
	a.s.signupLogin(t, email, "a user password")
	consoleSignIn(t, other, iss, email, "a user password", `//div[@role="alert" and contains(., "admin console is for accounts")]`)
	a.check(t, other, "console-refused")
	runBrowser(t, other, chromedp.Navigate(setupLink), chromedp.WaitVisible(`a.button[href="/console/"]`))
	a.check(t, other, "setup-used")
}

// auditHosted walks the hosted pages as a new user: sign-up, the mailed
// links, passkeys, an authenticator app and its recovery codes, sign-out,
// sign-in with the second factor, consent, password reset, an error.
func (a *auditRun) auditHosted(t *testing.T, tab context.Context) {
	iss, email, password := a.iss, uniqueEmail("audit"), "a long enough password"
	runBrowser(t, tab, chromedp.Navigate(iss+"/"), chromedp.WaitVisible(`h1`))
	a.check(t, tab, "home")

	// An upstream that cannot be reached: the sign-in page offers it,
	// and choosing it ends on the 502 page with the way back. (The
	// page that asks for a password before linking is audited by
	// TestUpstreamSignInInABrowser, which runs an upstream.)
	admin := a.s.login(t, adminEmail, adminPassword).Token
	if st, _, b := a.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "corp", "name": "Corp SSO", "type": "oidc",
		"issuer": "http://127.0.0.1:9", "clientId": "sigil", "clientSecret": "secret"}, bearer(admin)...); st != http.StatusCreated {
		t.Fatalf("create upstream: %d %s", st, b)
	}
	runBrowser(t, tab, chromedp.Navigate(iss+"/login"), chromedp.WaitVisible(`button[name=upstream][value=corp]`))
	a.check(t, tab, "login-upstreams")
	runBrowser(t, tab, chromedp.Click(`button[name=upstream][value=corp]`), chromedp.WaitVisible(`[role=alert]`))
	a.check(t, tab, "upstream-unreachable")

	runBrowser(t, tab,
		chromedp.Navigate(iss+"/signup"),
		chromedp.WaitVisible(`form[action="/signup"]`),
	)
	a.check(t, tab, "signup")
	runBrowser(t, tab,
		chromedp.Click(`form[action="/signup"] button[type=submit]`),
		chromedp.WaitVisible(`.field-error`),
	)
	a.check(t, tab, "signup-errors")
	runBrowser(t, tab,
		chromedp.SendKeys(`#name`, "Audrey"),
		chromedp.SendKeys(`#email`, email),
		chromedp.SendKeys(`#password`, password),
		chromedp.Click(`form[action="/signup"] button[type=submit]`),
		chromedp.WaitVisible(`button[name=enroll-totp]`),
	)
	a.check(t, tab, "account")
	a.linkIdentity(t, email)
	runBrowser(t, tab, chromedp.Navigate(iss+"/account"), chromedp.WaitVisible(`ul.identities`))
	a.check(t, tab, "account-linked")
	a.withoutPassword(t, tab, email)

	link, _ := mailLink(t, a.mp.waitSubject(t, email, "Confirm your email"))
	runBrowser(t, tab, chromedp.Navigate(link), chromedp.WaitVisible(`form button[type=submit]`))
	a.check(t, tab, "verify-email")

	runBrowser(t, tab, webauthn.Enable())
	addVirtualAuthenticator(t, tab)
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/account"),
		chromedp.WaitVisible(`button[name=add-passkey]`),
		chromedp.SendKeys(`#passkey_name`, "Phone"),
		chromedp.SendKeys(`#passkey_password`, password),
		chromedp.Click(`button[name=add-passkey]`),
		chromedp.WaitVisible(`ul.passkeys`),
	)
	a.check(t, tab, "account-passkeys")

	var secret string
	runBrowser(t, tab,
		chromedp.SendKeys(`#enroll_password`, password),
		chromedp.Click(`button[name=enroll-totp]`),
		chromedp.WaitVisible(`img.qr`),
		chromedp.Text(`code.secret`, &secret),
	)
	a.check(t, tab, "enroll-totp")
	runBrowser(t, tab,
		chromedp.SendKeys(`input[name=code]`, appCode(t, secret, a.clock.Now())),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`ol.recovery-codes`),
	)
	a.check(t, tab, "recovery-codes")

	runBrowser(t, tab, chromedp.Navigate(iss+"/oauth2/logout"), chromedp.WaitVisible(`form[action="/oauth2/logout"] button[type=submit]`))
	a.check(t, tab, "logout")
	runBrowser(t, tab,
		chromedp.Click(`form[action="/oauth2/logout"] button[type=submit]`),
		chromedp.WaitNotPresent(`form[action="/oauth2/logout"]`),
	)
	a.check(t, tab, "signed-out")

	runBrowser(t, tab, chromedp.Navigate(iss+"/login"), chromedp.WaitVisible(`input[name=email]`))
	a.check(t, tab, "login")
	runBrowser(t, tab,
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, "not the password"),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		// Not just [role=alert]: the passkey's hidden one is on the page
		// being left.
		chromedp.WaitVisible(`//div[@role="alert" and contains(., "Invalid email or password")]`, chromedp.BySearch),
	)
	a.check(t, tab, "login-error")
	runBrowser(t, tab,
		chromedp.SetValue(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`form[action="/login/mfa"] input[name=code]`),
	)
	a.check(t, tab, "mfa")
	a.clock.Add(30 * time.Second)
	runBrowser(t, tab,
		chromedp.SendKeys(`form[action="/login/mfa"] input[name=code]`, appCode(t, secret, a.clock.Now())),
		chromedp.Click(`form[action="/login/mfa"] button[type=submit]`),
		chromedp.WaitVisible(`button[name=regenerate-codes]`),
	)

	rp := newRelyingParty(t, iss)
	id, rpSecret := a.s.oidcClient(t, a.s.adminToken(t), map[string]any{"name": "Photo Gallery",
		"redirectUris": []string{rp.Callback()}, "audience": "gallery"})
	rp.configure(id, rpSecret, "openid", "email", "profile", "offline_access")
	runBrowser(t, tab, chromedp.Navigate(rp.srv.URL+"/start"), chromedp.WaitVisible(`button[name=consent][value=allow]`))
	a.check(t, tab, "consent")

	// The consent page of a client that registered itself, asking for a
	// token for a resource server: both are named, under a warning.
	const res = "https://notes.example.com/mcp"
	if st, _, body := a.s.postJSON(t, "/admin/resources", map[string]string{"uri": res, "name": "Notes"}, bearer(a.s.adminToken(t))...); st != http.StatusCreated {
		t.Fatalf("create resource: %d %s", st, body)
	}
	st, _, body := a.s.postJSON(t, "/oauth2/register", map[string]any{"client_name": "Notes Agent",
		"redirect_uris": []string{"http://127.0.0.1/callback"}, "token_endpoint_auth_method": "none"})
	var reg struct {
		ClientID string `json:"client_id"`
	}
	decode(t, body, &reg)
	if st != http.StatusCreated || reg.ClientID == "" {
		t.Fatalf("register: %d %s", st, body)
	}
	_, challenge := pkce()
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/oauth2/authorize?"+url.Values{"client_id": {reg.ClientID}, "response_type": {"code"},
			"redirect_uri": {"http://127.0.0.1:9/callback"}, "resource": {res},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()),
		chromedp.WaitVisible(`//div[contains(@class, "warning") and contains(., "registered itself")]`, chromedp.BySearch),
	)
	a.check(t, tab, "consent-registered")

	runBrowser(t, tab, chromedp.Navigate(iss+"/forgot-password"), chromedp.WaitVisible(`input[name=email]`))
	a.check(t, tab, "forgot-password")
	runBrowser(t, tab,
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.Click(`form[action="/forgot-password"] button[type=submit]`),
		chromedp.WaitVisible(`.notice`),
	)
	reset, _ := mailLink(t, a.mp.waitSubject(t, email, "Reset your"))
	runBrowser(t, tab, chromedp.Navigate(reset), chromedp.WaitVisible(`input[name=password]`))
	a.check(t, tab, "reset-password")

	runBrowser(t, tab,
		chromedp.Navigate(iss+"/oauth2/authorize?"+url.Values{"client_id": {"no-such-client"}, "response_type": {"code"}}.Encode()),
		chromedp.WaitVisible(`[role=alert]`),
	)
	a.check(t, tab, "error")
}
