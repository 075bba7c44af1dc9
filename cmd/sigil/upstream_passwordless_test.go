package main

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// passwordFieldIDs are the ids of the account page's fields that ask for
// the current password.
var passwordFieldIDs = []string{`id="enroll_password"`, `id="passkey_password"`, `id="delete_password"`, `id="current_password"`}

// userPasswordHash returns the password hash of the account of email at
// dbURL ("" for none); errNoUser when there is no such account.
func userPasswordHash(t *testing.T, dbURL, email string) (string, error) {
	t.Helper()
	u, err := openDB(t, dbURL).UserByEmail(t.Context(), email)
	if errors.Is(err, authority.ErrNotFound) {
		return "", errNoUser
	}
	if err != nil {
		t.Fatal(err)
	}
	return u.PasswordHash, nil
}

var errNoUser = errors.New("no such account")

// An account made by a first upstream sign-in has no password. Its
// account page asks for none; its sensitive forms work within
// RecentSignIn of the sign-in and, later, say to sign in again, with a
// button that signs in again through the upstream. It can set a
// password, after which every form asks for it as for anyone.
func TestPasswordlessAccountFormsNeedARecentSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		fx := newFedFixtureClock(t, dbURL, "none", nil, clock.Now)
		const email = "new@example.com"
		fx.upUser(t, email, true)
		b := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), email); p.Status != http.StatusSeeOther {
			t.Fatalf("upstream sign-in: %d\n%.500s", p.Status, p.Body)
		}
		if h, err := userPasswordHash(t, dbURL, email); err != nil || h != "" {
			t.Fatalf("the account of a first upstream sign-in has a password (%v)", err)
		}
		a := b.get(fx.iss + "/account")
		for _, id := range passwordFieldIDs {
			if strings.Contains(a.Body, id) {
				t.Errorf("account page without a password shows %s", id)
			}
		}
		if !strings.Contains(a.Body, "<h2>Set a password</h2>") || !strings.Contains(a.Body, ">Set password</button>") ||
			!strings.Contains(a.Body, "need a sign-in of the last 10 minutes") || strings.Contains(a.Body, "Sign in again with") {
			t.Errorf("account page of a recent sign-in without a password:\n%.6000s", a.Body)
		}

		// CSRF is still checked, before anything else.
		bad := fx.accountForm(t, b)
		bad.Set("csrf_token", strings.Repeat("A", 43))
		for _, path := range []string{"/account/mfa/totp", "/account/delete", "/account/password"} {
			bad.Set("new_password", "a new password 123")
			if p := b.post(fx.iss+path, bad); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Form expired") {
				t.Errorf("%s with a bad CSRF token: %d", path, p.Status)
			}
		}

		// Within RecentSignIn: a passkey's ceremony starts, no password.
		clock.Add(9 * time.Minute)
		if p := b.post(fx.iss+"/account/passkeys/begin", fx.accountForm(t, b)); p.Status != http.StatusOK || !strings.Contains(p.Body, "ceremonyId") {
			t.Errorf("passkey begin after a recent sign-in: %d %s", p.Status, p.Body)
		}

		// Past it: each form refuses, says why and how to sign in again.
		clock.Add(2 * time.Minute)
		for _, c := range []struct{ path, what string }{
			{"/account/mfa/totp", "enrolling an authenticator app"},
			{"/account/delete", "deleting the account"},
			{"/account/password", "setting a password"},
		} {
			p := b.post(fx.iss+c.path, fx.accountForm(t, b, "new_password", "a new password 123", "confirm", "yes"))
			if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "so "+c.what+" needs a sign-in of the last 10 minutes: sign in again first") ||
				!strings.Contains(p.Body, ">Sign in again with Corp SSO</button>") || strings.Contains(p.Body, `class="secret"`) {
				t.Errorf("%s after a stale sign-in: %d\n%.6000s", c.path, p.Status, p.Body)
			}
		}
		if p := b.post(fx.iss+"/account/passkeys/begin", fx.accountForm(t, b)); p.Status != http.StatusUnauthorized ||
			strings.Contains(p.Body, "ceremonyId") || !strings.Contains(p.Body, "sign in again first") {
			t.Errorf("passkey begin after a stale sign-in: %d %s", p.Status, p.Body)
		}
		if h, err := userPasswordHash(t, dbURL, email); err != nil || h != "" {
			t.Fatalf("after the refusals: password set %v, account %v", h != "", err)
		}
		if n := countRowsWhere(t, dbURL, "mfa_totp", "1 = 1"); n != 0 {
			t.Errorf("%d enrolments started by stale sign-ins", n)
		}

		// The page's button signs in again through the upstream, which
		// asks for its password although signed in there already, back
		// to the account page, recent again.
		p := fx.signInAgain(t, b, email)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "<h1>Your account</h1>") || strings.Contains(p.Body, "Sign in again with") {
			t.Fatalf("sign in again: %d\n%.3000s", p.Status, p.Body)
		}

		// Enrol an authenticator app, no password asked.
		enrol := b.post(fx.iss+"/account/mfa/totp", fx.accountForm(t, b))
		m := secretRE.FindStringSubmatch(enrol.Body)
		if enrol.Status != http.StatusOK || m == nil {
			t.Fatalf("enrolment after signing in again: %d\n%.3000s", enrol.Status, enrol.Body)
		}
		f := hidden(enrol)
		f.Set("code", appCode(t, m[1], clock.Now()))
		if p := b.post(fx.iss+"/account/mfa/totp/confirm", f); p.Status != http.StatusOK || !strings.Contains(p.Body, "Your authenticator is enrolled.") {
			t.Fatalf("confirm the enrolment: %d\n%.2000s", p.Status, p.Body)
		}

		// Set a password: new password only, audited as a change.
		p = b.post(fx.iss+"/account/password", fx.accountForm(t, b, "new_password", "short"))
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "New password") {
			t.Errorf("a too-short first password: %d", p.Status)
		}
		const pw = "my first password 123"
		p = b.post(fx.iss+"/account/password", fx.accountForm(t, b, "new_password", pw))
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account?done=password-set" {
			t.Fatalf("set a password: %d %s\n%.2000s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if h, err := userPasswordHash(t, dbURL, email); err != nil || h == "" || strings.Contains(h, pw) {
			t.Fatalf("password after setting it: stored %v (%v)", h != "", err)
		}
		if n := countRowsWhere(t, dbURL, "audit_events", "type = 'password.changed' AND detail LIKE 'first password set%'"); n != 1 {
			t.Errorf("%d audit events of the first password, want 1", n)
		}
		a = b.get(fx.iss + "/account?done=password-set")
		if !strings.Contains(a.Body, "Your password is set.") || !strings.Contains(a.Body, `id="delete_password"`) ||
			!strings.Contains(a.Body, `id="current_password"`) || !strings.Contains(a.Body, `id="passkey_password"`) ||
			strings.Contains(a.Body, "Set a password") || strings.Contains(a.Body, "has no password") {
			t.Errorf("account page once the password is set:\n%.6000s", a.Body)
		}

		// Now the password is needed, however recent the sign-in.
		p = b.post(fx.iss+"/account/delete", fx.accountForm(t, b))
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "The password is not right; the account was not deleted.") {
			t.Errorf("delete without the new password: %d", p.Status)
		}
		if p := b.post(fx.iss+"/account/passkeys/begin", fx.accountForm(t, b)); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "password is not right") {
			t.Errorf("passkey begin without the new password: %d %s", p.Status, p.Body)
		}
		p = b.post(fx.iss+"/account/password", fx.accountForm(t, b, "new_password", "another password 123"))
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Current password is required.") {
			t.Errorf("change without the current password: %d", p.Status)
		}
		if h, _ := userPasswordHash(t, dbURL, email); h == "" {
			t.Fatal("password lost")
		}
		p = b.post(fx.iss+"/account/delete", fx.accountForm(t, b, "password", pw))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your account is deleted.") {
			t.Errorf("delete with the password: %d", p.Status)
		}
		if _, err := userPasswordHash(t, dbURL, email); !errors.Is(err, errNoUser) {
			t.Errorf("account still there after deletion: %v", err)
		}
	})
}

// An account without a password deletes itself within RecentSignIn of
// its sign-in, with no password asked; a stale sign-in cannot.
func TestPasswordlessAccountDeletesItselfAfterARecentSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		fx := newFedFixtureClock(t, dbURL, "none", nil, clock.Now)
		const email = "new@example.com"
		fx.upUser(t, email, true)
		b := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), email); p.Status != http.StatusSeeOther {
			t.Fatalf("upstream sign-in: %d\n%.500s", p.Status, p.Body)
		}
		clock.Add(10*time.Minute + time.Second)
		if p := b.post(fx.iss+"/account/delete", fx.accountForm(t, b, "confirm", "yes")); p.Status != http.StatusUnauthorized {
			t.Errorf("delete after a stale sign-in: %d", p.Status)
		}
		// Signing in again through the upstream makes it recent.
		p := fx.signInAgain(t, b, email)
		if p.Status != http.StatusOK || !signedInTime.MatchString(p.Body) {
			t.Fatalf("sign in again: %d", p.Status)
		}
		clock.Add(9 * time.Minute)
		p = b.post(fx.iss+"/account/delete", fx.accountForm(t, b))
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Tick “Yes, delete my account”") {
			t.Errorf("delete without ticking the box: %d", p.Status)
		}
		p = b.post(fx.iss+"/account/delete", fx.accountForm(t, b, "confirm", "yes"))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your account is deleted.") {
			t.Fatalf("delete after a recent sign-in: %d\n%.2000s", p.Status, p.Body)
		}
		if _, err := userPasswordHash(t, dbURL, email); !errors.Is(err, errNoUser) {
			t.Errorf("account still there: %v", err)
		}
		if a := b.get(fx.iss + "/account"); a.Status != http.StatusSeeOther {
			t.Errorf("still signed in after deleting the account: %d", a.Status)
		}
	})
}

var signedInTime = regexp.MustCompile(`<dt>Signed in</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC</dd>`)
