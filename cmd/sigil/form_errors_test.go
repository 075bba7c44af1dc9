package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/store/storetest"
)

// fieldState is what a screen reader learns about one form field.
type fieldState struct {
	Invalid string // aria-invalid
	Said    string // the text of the elements aria-describedby names
}

// An empty sign-up reports every field that needs fixing at once: each
// message next to its field, tied to it with aria-describedby, the field
// marked aria-invalid, and all of them summed up in the alert; the
// password's length is counted in characters, as its label says.
func TestSignupReportsEveryFieldError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := browserEnv(t, dbURL, nil)
		startServer(t, env)
		tab := newTab(t)
		var alert string
		var fields map[string]fieldState
		js := `Object.fromEntries(["name", "email", "password"].map(id => { const e = document.getElementById(id);
			const said = (e.getAttribute("aria-describedby") || "").split(" ").filter(Boolean)
				.map(d => (document.getElementById(d) || {}).textContent || "").join(" ");
			return [id, {Invalid: e.getAttribute("aria-invalid") || "", Said: said}]; }))`
		runBrowser(t, tab,
			chromedp.Navigate(env["SIGIL_ISSUER"]+"/signup"),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.SendKeys(`input[name=password]`, "ééé"), // 6 bytes, 3 characters
			chromedp.Click(`form[action="/signup"] button[type=submit]`),
			chromedp.WaitVisible(`div[role=alert]`),
			chromedp.Text(`div[role=alert]`, &alert),
			chromedp.Evaluate(js, &fields),
		)
		for _, w := range []int64{1280, 390} {
			runBrowser(t, tab, chromedp.EmulateViewport(w, map[int64]int64{1280: 800, 390: 844}[w]))
			screenshot(t, tab, fmt.Sprintf("signup-errors-%d", w))
		}
		want := map[string]string{"email": "Email is required.", "password": "Password must be at least 8 characters."}
		for id, msg := range want {
			if f := fields[id]; f.Invalid != "true" || !strings.Contains(f.Said, msg) {
				t.Errorf("field %s: %+v, want aria-invalid and %q", id, f, msg)
			}
			if !strings.Contains(alert, msg) {
				t.Errorf("alert %q does not sum up %q", alert, msg)
			}
		}
		if f := fields["name"]; f.Invalid != "" || f.Said != "" {
			t.Errorf("the optional name is flagged: %+v", f)
		}
		if strings.Contains(alert, "bytes") {
			t.Errorf("alert counts bytes: %q", alert)
		}
	})
}
