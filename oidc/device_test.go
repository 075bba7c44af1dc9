package oidc

import (
	"strings"
	"testing"
	"time"
)

// A user code is eight letters of the vowel-free alphabet, shown with a
// dash, and read back in any case, with or without the dash.
func TestUserCodesAreReadAsPeopleTypeThem(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := newUserCode()
		if len(c) != UserCodeLength || strings.Trim(c, UserCodeLetters) != "" {
			t.Fatalf("user code %q", c)
		}
		seen[c] = true
		f := FormatUserCode(c)
		for _, typed := range []string{f, c, strings.ToLower(f), " " + c[:4] + " " + strings.ToLower(c[4:]) + " "} {
			if n, ok := NormalizeUserCode(typed); !ok || n != c {
				t.Errorf("%q read as %q %v, want %q", typed, n, ok, c)
			}
		}
	}
	if len(seen) < 199 {
		t.Errorf("only %d distinct codes in 200", len(seen))
	}
	for _, bad := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "BCDA-GHJK", "BCDF-GHJ1", "BCDF_GHJK", "ВCDF-GHJK", strings.Repeat("B", 100)} {
		if n, ok := NormalizeUserCode(bad); ok {
			t.Errorf("%q read as %q", bad, n)
		}
	}
	for _, bad := range []string{"", "device=", "device=a&b", "client_id=x", "device=" + strings.Repeat("a", 65)} {
		if _, ok := DeviceAuthzID(bad); ok {
			t.Errorf("%q taken as a device authorization", bad)
		}
	}
}

// A poll sooner than the interval is slow_down and makes the interval 5 s
// longer (RFC 8628 §3.5); a poll on time is not.
func TestDevicePollsArePaced(t *testing.T) {
	p := newPacer()
	t0 := time.Unix(1_000_000, 0)
	p.start("h", t0, t0.Add(DeviceCodeTTL))
	if !p.tooSoon("h", t0.Add(time.Second)) {
		t.Fatal("a poll 1 s after the start is on time")
	}
	// The interval is now 10 s from the last (too early) poll.
	if !p.tooSoon("h", t0.Add(9*time.Second)) {
		t.Fatal("a poll 8 s after a slow_down is on time")
	}
	at := t0.Add(9*time.Second + 15*time.Second)
	if p.tooSoon("h", at) {
		t.Fatal("a poll after the grown interval is too soon")
	}
	p.track("h", at, t0.Add(DeviceCodeTTL))
	if p.tooSoon("other", at) {
		t.Error("an unknown code is paced")
	}
	p.forget("h")
	if p.tooSoon("h", at) {
		t.Error("a forgotten code is paced")
	}
}
