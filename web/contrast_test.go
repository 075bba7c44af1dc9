package web

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// luminance is the WCAG 2.1 relative luminance of a #rrggbb color.
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("color %q is not #rrggbb", hex)
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("color %q: %v", hex, err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

// contrast is the WCAG contrast ratio of two colors.
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// An input's border is what shows where to type: in the light and the
// dark scheme it has at least 3:1 against the page and the card around
// it (WCAG 2.1 SC 1.4.11, non-text contrast).
func TestInputBorderContrast(t *testing.T) {
	raw, err := os.ReadFile("static/sigil.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(raw)
	if !regexp.MustCompile(`input\[type=email\][^{]*\{[^}]*border: 1px solid var\(--input-border\)`).MatchString(css) {
		t.Fatal("the text inputs' border does not use --input-border")
	}
	light, dark, ok := strings.Cut(css, "@media (prefers-color-scheme: dark)")
	if !ok {
		t.Fatal("no dark scheme")
	}
	dark, _, _ = strings.Cut(dark, "\n}")
	prop := func(block, name string) string {
		m := regexp.MustCompile(`--` + name + `:\s*(#[0-9a-fA-F]{6})`).FindStringSubmatch(block)
		if m == nil {
			t.Fatalf("--%s not found", name)
		}
		return m[1]
	}
	for scheme, block := range map[string]string{"light": light, "dark": dark} {
		border := prop(block, "input-border")
		for _, bg := range []string{"bg", "card"} {
			if r := contrast(t, border, prop(block, bg)); r < 3 {
				t.Errorf("%s: input border %s on --%s %s is %.2f:1, want at least 3:1", scheme, border, bg, prop(block, bg), r)
			} else {
				t.Logf("%s: input border %s on --%s is %.2f:1", scheme, border, bg, r)
			}
		}
	}
}
