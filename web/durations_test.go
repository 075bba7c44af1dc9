package web

import (
	"testing"
	"time"
)

// Durations read as people say them: whole units, spelled out, the two
// largest, singular for one.
func TestHumanDuration(t *testing.T) {
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{720 * time.Hour, "30 days"},
		{15 * time.Minute, "15 minutes"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{24 * time.Hour, "1 day"},
		{51*time.Hour + 59*time.Minute, "2 days 3 hours"},
		{24*time.Hour + 20*time.Minute, "1 day"},
		{45 * time.Second, "45 seconds"},
		{time.Minute + time.Second, "1 minute 1 second"},
		{1500 * time.Millisecond, "1 second"},
		{0, "0 seconds"},
		{-2 * time.Hour, "2 hours"},
	} {
		if got := humanDuration(c.in); got != c.want {
			t.Errorf("humanDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The templates' duration takes what the admin API answers: Go duration
// strings and numbers of seconds.
func TestDurationOf(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"720h0m0s", "30 days"},
		{"1h0m0s", "1 hour"},
		{900, "15 minutes"},
		{int64(3600), "1 hour"},
		{float64(300), "5 minutes"},
		{2 * time.Hour, "2 hours"},
		{"not a duration", "not a duration"},
	} {
		if got := durationOf(c.in); got != c.want {
			t.Errorf("durationOf(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
