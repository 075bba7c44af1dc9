package oidc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
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

// countingDevices is a device store of one pending authorization that
// counts its reads, with a DeviceWatch the test moves.
type countingDevices struct {
	DeviceStore
	d         DeviceAuthorization
	reads     int
	gen       uint64
	following bool
}

func (f *countingDevices) DeviceAuthorizationByDeviceCode(context.Context, string) (DeviceAuthorization, error) {
	f.reads++
	return f.d, nil
}

func (f *countingDevices) DeviceWatch() (uint64, bool) { return f.gen, f.following }

// A poll on time of a code read pending is answered from memory while
// no device authorization has been decided anywhere since and decisions
// are followed; a decision, a lost listener, another client, the
// backstop or approval each make the next poll read the row.
func TestPendingPollsAreAnsweredFromMemoryUntilADecision(t *testing.T) {
	st := newMemStore()
	devices := &countingDevices{following: true}
	st.DeviceStore = devices
	s := newTestService(t, st, keys.EdDSA, nil)
	now := time.Unix(2_000_000, 0)
	s.now = func() time.Time { return now }
	c := authority.Client{ID: "cli", Public: true, GrantTypes: []string{authority.GrantDeviceCode}}
	code := authority.RandomToken(32)
	hash := authority.HashToken(code)
	devices.d = DeviceAuthorization{ID: "d1", ClientID: c.ID, Status: DevicePending, ExpiresAt: now.Add(DeviceCodeTTL)}
	s.pace.start(hash, now, now.Add(DeviceCodeTTL))

	poll := func(c authority.Client, wantReads int, want error) {
		t.Helper()
		now = now.Add(DeviceInterval)
		_, err := s.PollDevice(context.Background(), c, code, "")
		if !errors.Is(err, want) {
			t.Fatalf("poll: %v, want %v", err, want)
		}
		if devices.reads != wantReads {
			t.Fatalf("%d reads after the poll, want %d", devices.reads, wantReads)
		}
	}
	poll(c, 1, ErrAuthorizationPending) // first on-time poll reads
	poll(c, 1, ErrAuthorizationPending) // then from memory
	poll(c, 1, ErrAuthorizationPending)

	devices.gen++ // a decision somewhere
	poll(c, 2, ErrAuthorizationPending)
	poll(c, 2, ErrAuthorizationPending)

	devices.following = false // the listener is down
	poll(c, 3, ErrAuthorizationPending)
	poll(c, 4, ErrAuthorizationPending)
	devices.following, devices.gen = true, devices.gen+1
	poll(c, 5, ErrAuthorizationPending)

	other := c
	other.ID = "other"
	poll(other, 6, authority.ErrInvalidGrant) // never from memory for another client

	now = now.Add(devicePendingRecheck) // the backstop
	poll(c, 7, ErrAuthorizationPending)
	poll(c, 7, ErrAuthorizationPending)

	// Denied: the store's number moves with the decision.
	devices.d.Status, devices.gen = DeviceDenied, devices.gen+1
	poll(c, 8, ErrAccessDenied)
}
