package web

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// A warning (a secret shown once) is read in full: its text has at least
// 4.5:1 against its background in the light and the dark scheme (WCAG 2.1
// SC 1.4.3), and so does the secret field's border against the card (3:1,
// SC 1.4.11).
func TestWarningContrast(t *testing.T) {
	raw, err := os.ReadFile("static/sigil.css")
	if err != nil {
		t.Fatal(err)
	}
	light, dark, ok := strings.Cut(string(raw), "@media (prefers-color-scheme: dark)")
	if !ok {
		t.Fatal("no dark scheme")
	}
	dark, _, _ = strings.Cut(dark, "\n}")
	for scheme, block := range map[string]string{"light": light, "dark": dark} {
		prop := func(name string) string {
			m := regexp.MustCompile(`--` + name + `:\s*(#[0-9a-fA-F]{6})`).FindStringSubmatch(block)
			if m == nil {
				t.Fatalf("%s: --%s not found", scheme, name)
			}
			return m[1]
		}
		if r := contrast(t, prop("warn"), prop("warn-bg")); r < 4.5 {
			t.Errorf("%s: warning text on its background is %.2f:1, want at least 4.5:1", scheme, r)
		}
		if r := contrast(t, prop("warn"), prop("card")); r < 3 {
			t.Errorf("%s: the secret field's border on the card is %.2f:1, want at least 3:1", scheme, r)
		}
	}
}
