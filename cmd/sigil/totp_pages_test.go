package main

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// code computes what an authenticator app shows for secret at t, with the
// library apps are built on, not with the server's own helper.
func appCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkQR decodes the enrolment page's QR code image: a PNG in a data:
// URL (allowed by the pages' CSP), a square of a readable size.
func checkQR(t *testing.T, src string) {
	t.Helper()
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR image src %.60s", src)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("QR image: %v", err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 200 {
		t.Errorf("QR image %v", b)
	}
}

// A person enrols an authenticator app on the account page in a real
// browser: the QR code and the key, a wrong first code refused, the right
// one shows the ten recovery codes once; signs out, signs in with the
// password and a code; gets new recovery codes with a recovery code, and
// removes the authenticator with a code.
func TestHostedTOTPEnrolmentInBrowser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		s := startServerClock(t, env, clock.Now)
		iss := env["SIGIL_ISSUER"]
		s.signupLogin(t, "lin@example.com", "a long enough password")
		tab := newTabFor(t, 5*time.Minute)

		var secret, qr, text string
		runBrowser(t, tab,
			startTOTPEnrolment(iss, "lin@example.com", "a long enough password", &secret),
			chromedp.AttributeValue(`img.qr`, "src", &qr, nil),
		)
		screenshot(t, tab, "enroll-totp")
		checkQR(t, qr)
		var uri string
		runBrowser(t, tab, chromedp.AttributeValue(`a[href^="otpauth:"]`, "href", &uri, nil))
		if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
			t.Fatalf("otpauth URI %q for key %q", uri, secret)
		}
		// A wrong first code keeps the enrolment page, with the same key.
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=code]`, "000000"),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`div[role=alert]:not([hidden])`),
			chromedp.Text(`code.secret`, &text),
		)
		if text != secret {
			t.Fatalf("key after a wrong code %q, was %q", text, secret)
		}
		var codes []string
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=code]`, appCode(t, secret, clock.Now())),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`ol.recovery-codes`),
			chromedp.Evaluate(`[...document.querySelectorAll("ol.recovery-codes code")].map(e => e.textContent)`, &codes),
		)
		screenshot(t, tab, "recovery-codes")
		if len(codes) != 10 {
			t.Fatalf("recovery codes %v", codes)
		}
		runBrowser(t, tab,
			chromedp.Click(`a.button`),
			chromedp.WaitVisible(`button[name=remove-totp]`),
			chromedp.Text(`main`, &text),
		)
		if !strings.Contains(text, "10 recovery codes left") {
			t.Errorf("account page after enrolment:\n%s", text)
		}
		// The REST login now needs the second factor too.
		loginNeedsMFA(t, s, "lin@example.com", "a long enough password", "urn:sigil:problem:mfa-required")

		// Sign out, sign in with the password and a code.
		clock.Add(30 * time.Second)
		signOutInBrowser(t, tab, iss)
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=email]`, "lin@example.com"),
			chromedp.SendKeys(`input[name=password]`, "a long enough password"),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`form[action="/login/mfa"] input[name=code]`),
			chromedp.SendKeys(`input[name=code]`, appCode(t, secret, clock.Now())),
			chromedp.Click(`form[action="/login/mfa"] button[type=submit]`),
			chromedp.WaitVisible(`button[name=remove-totp]`),
		)

		// New recovery codes, with one of the old ones; it is spent.
		runBrowser(t, tab,
			chromedp.SendKeys(`#totp_code`, codes[0]),
			chromedp.Click(`button[name=regenerate-codes]`),
			chromedp.WaitVisible(`ol.recovery-codes`),
			chromedp.Evaluate(`[...document.querySelectorAll("ol.recovery-codes code")].map(e => e.textContent)`, &codes),
		)
		if len(codes) != 10 {
			t.Fatalf("new recovery codes %v", codes)
		}
		// Removal with a wrong code is refused; with a current code it works.
		runBrowser(t, tab,
			chromedp.Click(`a.button`),
			chromedp.WaitVisible(`#totp_code`),
			chromedp.SendKeys(`#totp_code`, "000000"),
			chromedp.Click(`button[name=remove-totp]`),
			chromedp.WaitVisible(`div[role=alert]:not([hidden])`),
			chromedp.Text(`div[role=alert]:not([hidden])`, &text),
		)
		if !strings.Contains(text, "not removed") {
			t.Errorf("wrong code: %s", text)
		}
		clock.Add(30 * time.Second)
		runBrowser(t, tab,
			chromedp.SendKeys(`#totp_code`, appCode(t, secret, clock.Now())),
			chromedp.Click(`button[name=remove-totp]`),
			chromedp.WaitVisible(`button[name=enroll-totp]`),
			chromedp.Text(`.notice`, &text),
		)
		if !strings.Contains(text, "removed") {
			t.Errorf("after removal: %s", text)
		}
		loginNeedsNothing(t, s, "lin@example.com", "a long enough password")
	})
}

// With SIGIL_MFA_REQUIRED_ROLES=admin an administrator without a second
// factor who signs in on the hosted page enrols one there before any
// session opens, then lands signed in with the recovery codes shown.
func TestHostedForcedEnrolmentInBrowser(t *testing.T) {
	clock := newTestClock()
	env := browserEnv(t, storetest.SQLiteURL(t), map[string]string{"SIGIL_MFA_REQUIRED_ROLES": "admin"})
	s := startServerClock(t, env, clock.Now)
	iss := env["SIGIL_ISSUER"]
	tab := newTab(t)
	var secret, text string
	runBrowser(t, tab,
		chromedp.Navigate(iss+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, adminEmail),
		chromedp.SendKeys(`input[name=password]`, adminPassword),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`img.qr`),
		chromedp.Text(`code.secret`, &secret),
		chromedp.Text(`main`, &text),
	)
	screenshot(t, tab, "forced-enrolment")
	if !strings.Contains(text, "needs a second factor") {
		t.Errorf("forced enrolment page:\n%s", text)
	}
	// No session yet.
	b := newBrowserless(t, iss)
	if p := b.get(iss + "/account"); p.Status == http.StatusOK {
		t.Fatal("a session without cookies?")
	}
	var codes []string
	runBrowser(t, tab,
		chromedp.SendKeys(`input[name=code]`, appCode(t, secret, clock.Now())),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`ol.recovery-codes`),
		chromedp.Evaluate(`[...document.querySelectorAll("ol.recovery-codes code")].map(e => e.textContent)`, &codes),
		chromedp.Click(`a.button`),
		chromedp.WaitVisible(`button[name=remove-totp]`),
		chromedp.Text(`main`, &text),
	)
	if len(codes) != 10 || !strings.Contains(text, adminEmail) {
		t.Fatalf("after forced enrolment: codes %v\n%s", codes, text)
	}
	loginNeedsMFA(t, s, adminEmail, adminPassword, "urn:sigil:problem:mfa-required")
}

// startTOTPEnrolment signs email in on the hosted login page and starts
// an authenticator enrolment from the account page, up to the QR code;
// secret receives the key shown next to it.
func startTOTPEnrolment(iss, email, password string, secret *string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(iss + "/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`button[name=enroll-totp]`),
		chromedp.SendKeys(`#enroll_password`, password),
		chromedp.Click(`button[name=enroll-totp]`),
		chromedp.WaitVisible(`img.qr`),
		chromedp.Text(`code.secret`, secret),
	}
}
