package main

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/store/storetest"
)

// Adding a second factor needs the account's password: a session or an
// access token alone must not add one (a passkey then signs in by itself,
// and an authenticator keeps the owner out). These tests drive the REST
// endpoints, the account page and the enrolment of a held-back sign-in,
// and read the notices each change mails through a real SMTP server.

// addFactorEndpoints are the two REST calls that add a second factor.
var addFactorEndpoints = []string{"/auth/mfa/totp", "/auth/mfa/webauthn/register/begin"}

// Over REST, both ways to add a second factor refuse an access token
// without the password (400 naming the field) or with a wrong one (401
// invalid-credentials, an mfa.failure event) and start nothing; wrong
// passwords count toward the account's lockout like a login's, so that
// once SIGIL_LOCKOUT_THRESHOLD of them are spent even the right one is
// 429, there and on the account page; the right password starts the
// enrolment. On both stores.
func TestAddingASecondFactorNeedsThePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, browserEnv(t, dbURL, nil))
		const pw = "the right password"
		u := s.signupLogin(t, "ines@example.com", pw)
		// A browser session of the user, made before the lock.
		bl := newBrowserless(t, s.Issuer)
		if p := bl.signIn(bl.get(s.Issuer+"/login"), "ines@example.com", pw); p.Status != http.StatusSeeOther {
			t.Fatalf("page sign-in: %d", p.Status)
		}
		account := bl.get(s.Issuer + "/account")
		started := func() int {
			return countRowsWhere(t, dbURL, "mfa_totp", "user_id = '"+u.UserID+"'") +
				countRowsWhere(t, dbURL, "webauthn_ceremonies", "user_id = '"+u.UserID+"'")
		}

		for _, path := range addFactorEndpoints {
			for _, body := range []string{"", `{}`, `{"password":""}`} {
				st, h, b := doJSON(t, s, http.MethodPost, path, body, u.Token)
				var p problem
				decode(t, b, &p)
				if st != http.StatusBadRequest || h.Get("Content-Type") != "application/problem+json" || p.Field != "password" {
					t.Errorf("%s with body %q: %d %s, want 400 naming the password", path, body, st, b)
				}
			}
			st, _, b := doJSON(t, s, http.MethodPost, path, `{"password":"not the password"}`, u.Token)
			if st != http.StatusUnauthorized || !strings.Contains(string(b), "urn:sigil:problem:invalid-credentials") {
				t.Errorf("%s with a wrong password: %d %s", path, st, b)
			}
			if strings.Contains(string(b), "secret") || strings.Contains(string(b), "ceremonyId") {
				t.Errorf("%s refused, yet answered %s", path, b)
			}
		}
		if n := started(); n != 0 {
			t.Fatalf("refused requests started %d enrolment(s)", n)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'mfa.failure' AND user_id = '"+u.UserID+"' AND detail LIKE 'wrong password to %'"); n != 2 {
			t.Errorf("mfa.failure events for wrong passwords: %d, want 2", n)
		}

		// The right password starts each.
		st, _, b := doJSON(t, s, http.MethodPost, "/auth/mfa/totp", `{"password":"`+pw+`"}`, u.Token)
		var e enrolment
		decode(t, b, &e)
		if st != http.StatusOK || e.Secret == "" {
			t.Fatalf("TOTP enrolment with the password: %d %s", st, b)
		}
		st, _, b = doJSON(t, s, http.MethodPost, "/auth/mfa/webauthn/register/begin", `{"password":"`+pw+`"}`, u.Token)
		var c creationAnswer
		decode(t, b, &c)
		if st != http.StatusOK || c.CeremonyID == "" {
			t.Fatalf("passkey registration with the password: %d %s", st, b)
		}

		// Wrong passwords are login attempts (the right ones above cleared
		// the count, as a login does): five in a row, the threshold, lock
		// the account; then the right one is refused too.
		for i := range 5 {
			path := addFactorEndpoints[i%2]
			if st, _, b := doJSON(t, s, http.MethodPost, path, `{"password":"another wrong one"}`, u.Token); st != http.StatusUnauthorized {
				t.Fatalf("wrong password %d on %s: %d %s", i+1, path, st, b)
			}
		}
		before := started()
		for _, path := range addFactorEndpoints {
			st, h, b := doJSON(t, s, http.MethodPost, path, `{"password":"`+pw+`"}`, u.Token)
			if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(string(b), "urn:sigil:problem:throttled") {
				t.Errorf("%s with the right password while locked: %d Retry-After %q %s", path, st, h.Get("Retry-After"), b)
			}
		}
		if st, _, p := loginAttempt(t, s, "ines@example.com", pw); st != http.StatusTooManyRequests {
			t.Errorf("login while locked: %d %+v", st, p)
		}
		if n := len(auditEvents(t, dbURL, authority.EventQuery{Type: "account.locked"})); n != 1 {
			t.Errorf("account.locked events: %d, want 1", n)
		}

		// The account page's forms answer the same lockout.
		f := hidden(account)
		f.Set("password", pw)
		if p := bl.post(s.Issuer+"/account/mfa/totp", f); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many attempts") {
			t.Errorf("account page enrolment while locked: %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
		}
		if p := bl.post(s.Issuer+"/account/passkeys/begin", f); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many attempts") {
			t.Errorf("account page passkey while locked: %d Retry-After %q %s", p.Status, p.Header.Get("Retry-After"), p.Body)
		}
		if n := started(); n != before {
			t.Errorf("enrolments while locked: %d → %d", before, n)
		}
	})
}

var secretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)

// The account page's forms that add a factor carry the password: on the
// enrolment page of TOTP, a wrong password refuses with an alert and
// enrols nothing, the right one shows the QR code. The passkey's begin
// step refuses without it. The QR page, shown again after a wrong first
// code, needs the form of the page that showed it: a session alone cannot
// read the secret of an enrolment the user started and left. On both
// stores, in Chromium for what a person sees (at 390 and 1280 pixels).
func TestAccountPageAsksThePasswordToAddAFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		s := startServer(t, env)
		iss := env["SIGIL_ISSUER"]
		const email, pw = "oren@example.com", "a long enough password"
		u := s.signupLogin(t, email, pw)
		tab := newTabFor(t, 3*time.Minute)

		runBrowser(t, tab,
			chromedp.Navigate(iss+"/login"),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, pw),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`button[name=enroll-totp]`),
		)
		for _, button := range []string{"enroll-totp", "add-passkey"} {
			if f := passwordFieldOf(t, tab, button); f.Type != "password" || f.Autocomplete != "current-password" || !f.LabelVisible || !strings.Contains(f.Label, "password") {
				t.Fatalf("password field of the form of button[name=%s]: %+v", button, f)
			}
		}
		for _, w := range []int64{390, 1280} {
			runBrowser(t, tab, chromedp.EmulateViewport(w, 900), chromedp.ScrollIntoView(`button[name=enroll-totp]`))
			screenshot(t, tab, "account-factor-forms-"+strconv.FormatInt(w, 10))
		}

		// A wrong password: the page says so and nothing is enrolled.
		var alert string
		runBrowser(t, tab,
			chromedp.EmulateViewport(390, 900),
			chromedp.SendKeys(`#enroll_password`, "not the password"),
			chromedp.Click(`button[name=enroll-totp]`),
			chromedp.WaitVisible(`div[role=alert]:not([hidden])`),
			chromedp.Text(`div[role=alert]:not([hidden])`, &alert),
		)
		screenshot(t, tab, "enroll-totp-wrong-password")
		if !strings.Contains(alert, "password is not right") {
			t.Errorf("alert after a wrong password: %q", alert)
		}
		if n := countRowsWhere(t, dbURL, "mfa_totp", "user_id = '"+u.UserID+"'"); n != 0 {
			t.Fatalf("a wrong password started an enrolment")
		}

		// The right one shows the QR code.
		var qr, secret string
		runBrowser(t, tab,
			chromedp.SendKeys(`#enroll_password`, pw),
			chromedp.Click(`button[name=enroll-totp]`),
			chromedp.WaitVisible(`img.qr`),
			chromedp.AttributeValue(`img.qr`, "src", &qr, nil),
			chromedp.Text(`code.secret`, &secret),
		)
		checkQR(t, qr)
		for _, w := range []int64{390, 1280} {
			runBrowser(t, tab, chromedp.EmulateViewport(w, 900))
			screenshot(t, tab, "enroll-totp-qr-"+strconv.FormatInt(w, 10))
		}

		// The enrolment is left pending. Whoever holds the session but
		// not that page gets no secret from a wrong first code; the page
		// that showed it gets it again.
		b := newBrowserless(t, iss)
		if p := b.signIn(b.get(iss+"/login"), email, pw); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.Status)
		}
		f := hidden(b.get(iss + "/account"))
		f.Set("code", "000000")
		if p := b.post(iss+"/account/mfa/totp/confirm", f); p.Status != http.StatusConflict || strings.Contains(p.Body, secret) || strings.Contains(p.Body, `class="qr"`) {
			t.Fatalf("a wrong code without the enrolment page: %d, secret shown %v", p.Status, strings.Contains(p.Body, secret))
		}
		f.Set("password", pw)
		enrol := b.post(iss+"/account/mfa/totp", f)
		m := secretRE.FindStringSubmatch(enrol.Body)
		if enrol.Status != http.StatusOK || m == nil {
			t.Fatalf("enrolment with the password: %d", enrol.Status)
		}
		f = hidden(enrol)
		f.Set("code", "000000")
		if p := b.post(iss+"/account/mfa/totp/confirm", f); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, m[1]) {
			t.Errorf("a wrong first code from the enrolment page: %d, secret shown again %v", p.Status, strings.Contains(p.Body, m[1]))
		}

		// The passkey's begin step refuses without the right password.
		f = hidden(b.get(iss + "/account"))
		for _, password := range []string{"", "not the password"} {
			f.Set("password", password)
			p := b.post(iss+"/account/passkeys/begin", f)
			if p.Status != http.StatusUnauthorized || strings.Contains(p.Body, "ceremonyId") || !strings.Contains(p.Body, "password is not right") {
				t.Errorf("passkey begin with password %q: %d %s", password, p.Status, p.Body)
			}
		}
		if n := countRowsWhere(t, dbURL, "webauthn_ceremonies", "user_id = '"+u.UserID+"'"); n != 0 {
			t.Errorf("refused begin steps started %d ceremonies", n)
		}
		f.Set("password", pw)
		if p := b.post(iss+"/account/passkeys/begin", f); p.Status != http.StatusOK || !strings.Contains(p.Body, "ceremonyId") {
			t.Errorf("passkey begin with the password: %d %s", p.Status, p.Body)
		}
	})
}

// passwordField is what a person sees of a form's password field.
type passwordField struct {
	Type, Autocomplete, Label string
	LabelVisible              bool
}

// passwordFieldOf reads the password field of the form of
// button[name=button] on the tab's page (all empty when there is none).
func passwordFieldOf(t *testing.T, tab context.Context, button string) passwordField {
	t.Helper()
	var f passwordField
	runBrowser(t, tab, chromedp.Evaluate(`(() => {
		const i = document.querySelector('form:has(button[name=`+button+`]) input[name=password]');
		if (!i) return {};
		const l = i.id ? document.querySelector('label[for="' + i.id + '"]') : null;
		return {Type: i.type, Autocomplete: i.autocomplete, Label: l ? l.textContent : "",
			LabelVisible: !!l && l.getBoundingClientRect().height > 0 && getComputedStyle(l).visibility !== "hidden"};
	})()`, &f))
	return f
}

// The enrolment that a sign-in held back by SIGIL_MFA_REQUIRED_ROLES goes
// through asks no password again, right after it was typed, but only
// within that sign-in: a session without its token, a spent token or an
// expired one enrols nothing, on the page or over REST. On both stores.
func TestHeldBackSignInEnrolsOnlyWithinItself(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, map[string]string{"SIGIL_MFA_REQUIRED_ROLES": "admin"})
		s := startServerClock(t, env, clock.Now)
		iss := env["SIGIL_ISSUER"]
		const email, pw = "plain@example.com", "a long enough password"
		u := s.signupLogin(t, email, pw)

		// A plain user's session: the page of a held-back sign-in does
		// nothing without the sign-in's token.
		b := newBrowserless(t, iss)
		if p := b.signIn(b.get(iss+"/login"), email, pw); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", p.Status)
		}
		f := hidden(b.get(iss + "/account"))
		f.Set("code", "123456")
		for _, tok := range []string{"", "not-a-token"} {
			f.Set("mfa_token", tok)
			if p := b.post(iss+"/login/mfa/enroll", f); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "sign-in expired") {
				t.Errorf("forced enrolment with a session and mfa_token %q: %d", tok, p.Status)
			}
		}
		if n := countRowsWhere(t, dbURL, "mfa_totp", "user_id = '"+u.UserID+"'"); n != 0 {
			t.Fatalf("a session alone enrolled an authenticator")
		}

		// Over REST an enrolment token needs no password while it lives
		// (MFAEnrollTokenTTL), and does nothing after.
		held := loginNeedsMFA(t, s, adminEmail, adminPassword, "urn:sigil:problem:mfa-enrollment-required")
		for _, path := range addFactorEndpoints {
			if st, _, b := doJSON(t, s, http.MethodPost, path, ``, held.MFAToken); st != http.StatusOK {
				t.Errorf("%s with a live enrolment token and no password: %d %s", path, st, b)
			}
		}
		clock.Add(mfa.EnrollTokenTTL + time.Second)
		for _, path := range addFactorEndpoints {
			if st, _, b := doJSON(t, s, http.MethodPost, path, ``, held.MFAToken); st != http.StatusUnauthorized {
				t.Errorf("%s with an expired enrolment token: %d %s", path, st, b)
			}
		}

		// The administrator's sign-in on the page is held back: its page
		// enrols with no password asked again, and spends its token.
		a := newBrowserless(t, iss)
		step := a.signIn(a.get(iss+"/login"), adminEmail, adminPassword)
		m := secretRE.FindStringSubmatch(step.Body)
		form := hidden(step)
		token := form.Get("mfa_token")
		if step.Status != http.StatusOK || m == nil || token == "" {
			t.Fatalf("held-back sign-in: %d\n%.400s", step.Status, step.Body)
		}
		form.Set("code", totpCode(t, m[1], clock.Now()))
		if p := a.post(iss+"/login/mfa/enroll", form); p.Status != http.StatusOK || !strings.Contains(p.Body, "recovery-codes") {
			t.Fatalf("forced enrolment: %d", p.Status)
		}
		// Spent: it enrols nothing more, on the page or over REST.
		clock.Add(30 * time.Second)
		form.Set("code", totpCode(t, m[1], clock.Now()))
		if p := a.post(iss+"/login/mfa/enroll", form); p.Status != http.StatusUnauthorized {
			t.Errorf("forced enrolment with a spent token: %d", p.Status)
		}
		for _, path := range addFactorEndpoints {
			if st, _, b := doJSON(t, s, http.MethodPost, path, `{}`, token); st != http.StatusUnauthorized {
				t.Errorf("%s with a spent enrolment token: %d %s", path, st, b)
			}
		}
	})
}
