package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// box is an element's bounding box in CSS pixels.
type box struct{ X, Y, W, H float64 }

// overlaps reports whether two boxes share any area.
func (a box) overlaps(b box) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// boxesAt sizes the viewport to w×h and returns the boxes of sel.
func boxesAt(t *testing.T, tab context.Context, w, h int64, sel string) []box {
	t.Helper()
	var boxes []box
	runBrowser(t, tab,
		chromedp.EmulateViewport(w, h),
		chromedp.Evaluate(fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => {
			const r = e.getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })`, sel), &boxes),
	)
	return boxes
}

// The recovery codes are readable at a desktop and a phone width: no code
// is drawn over another. Then, signing in again, the second-factor field
// lets a phone type a recovery code (letters) as well as a 6-digit code,
// while the enrolment's first-code field, which takes only digits, keeps
// the number pad.
func TestRecoveryCodesLayoutAndSecondFactorField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		s := startServerClock(t, env, clock.Now)
		iss := env["SIGIL_ISSUER"]
		s.signupLogin(t, "rey@example.com", "a long enough password")
		tab := newTabFor(t, 3*time.Minute)

		var secret, enrolMode string
		runBrowser(t, tab,
			startTOTPEnrolment(iss, "rey@example.com", "a long enough password", &secret),
			chromedp.AttributeValue(`input[name=code]`, "inputmode", &enrolMode, nil),
		)
		runBrowser(t, tab, // the code is computed once the key is read
			chromedp.SendKeys(`input[name=code]`, appCode(t, secret, clock.Now())),
			chromedp.Click(`button[type=submit]`),
			chromedp.WaitVisible(`ol.recovery-codes`),
		)
		if enrolMode != "numeric" {
			t.Errorf("enrolment code field inputmode %q, want numeric (it takes only TOTP codes)", enrolMode)
		}
		for _, size := range [][2]int64{{1280, 800}, {390, 844}} {
			boxes := boxesAt(t, tab, size[0], size[1], "ol.recovery-codes code")
			screenshot(t, tab, fmt.Sprintf("recovery-codes-%d", size[0]))
			if len(boxes) != 10 {
				t.Fatalf("%d px: %d codes", size[0], len(boxes))
			}
			for i := range boxes {
				for j := i + 1; j < len(boxes); j++ {
					if boxes[i].overlaps(boxes[j]) {
						t.Errorf("%d px: code %d %+v overlaps code %d %+v", size[0], i+1, boxes[i], j+1, boxes[j])
					}
				}
			}
		}

		clock.Add(30 * time.Second)
		runBrowser(t, tab, chromedp.Click(`a.button`))
		signOutInBrowser(t, tab, iss)
		attrs := map[string]string{}
		runBrowser(t, tab,
			chromedp.SendKeys(`input[name=email]`, "rey@example.com"),
			chromedp.SendKeys(`input[name=password]`, "a long enough password"),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`form[action="/login/mfa"] input[name=code]`),
			chromedp.Attributes(`form[action="/login/mfa"] input[name=code]`, &attrs),
		)
		for _, size := range [][2]int64{{1280, 800}, {390, 844}} {
			runBrowser(t, tab, chromedp.EmulateViewport(size[0], size[1]))
			screenshot(t, tab, fmt.Sprintf("second-factor-%d", size[0]))
		}
		want := map[string]string{"inputmode": "text", "autocomplete": "one-time-code", "autocapitalize": "characters", "spellcheck": "false"}
		for k, v := range want {
			if attrs[k] != v {
				t.Errorf("second-factor field %s=%q, want %q (a recovery code has letters)", k, attrs[k], v)
			}
		}
	})
}
