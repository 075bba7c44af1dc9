package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
)

func lockAfter(threshold int, now time.Time) func(int) time.Time {
	return func(n int) time.Time {
		if d := authority.LockoutFor(n, threshold); d > 0 {
			return now.Add(d)
		}
		return time.Time{}
	}
}

func testLoginThrottle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if th, err := db.LoginThrottle(ctx, "x@example.com"); err != nil || th != (authority.Throttle{}) {
		t.Fatalf("unseen email = %+v, %v", th, err)
	}
	for i := 1; i <= 3; i++ {
		th, err := db.RecordLoginFailure(ctx, "x@example.com", now, lockAfter(3, now))
		if err != nil || th.Failures != i {
			t.Fatalf("failure %d: %+v, %v", i, th, err)
		}
		if (i < 3) != th.LockedUntil.IsZero() {
			t.Fatalf("failure %d: locked until %v", i, th.LockedUntil)
		}
	}
	th, err := db.LoginThrottle(ctx, "x@example.com")
	if err != nil || th.Failures != 3 || !th.LockedUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("stored = %+v, %v; want 3 failures locked for a minute", th, err)
	}
	if other, _ := db.LoginThrottle(ctx, "y@example.com"); other.Failures != 0 {
		t.Fatalf("another email shares the counter: %+v", other)
	}
	if err := db.ResetLoginThrottle(ctx, "x@example.com"); err != nil {
		t.Fatal(err)
	}
	if th, _ := db.LoginThrottle(ctx, "x@example.com"); th != (authority.Throttle{}) {
		t.Fatalf("after reset = %+v", th)
	}
}

func testLoginThrottleConcurrent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	const n = 20
	var wg sync.WaitGroup
	counts := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := db.RecordLoginFailure(ctx, "race@example.com", now, lockAfter(5, now))
			if err != nil {
				t.Error(err)
				return
			}
			counts <- th.Failures
		}()
	}
	wg.Wait()
	close(counts)
	seen := map[int]bool{}
	for c := range counts {
		if seen[c] {
			t.Fatalf("two failures both saw count %d: an increment was lost", c)
		}
		seen[c] = true
	}
	th, _ := db.LoginThrottle(ctx, "race@example.com")
	if th.Failures != n || !th.LockedUntil.Equal(now.Add(authority.LockoutFor(n, 5))) {
		t.Fatalf("stored = %+v; want %d failures locked for %s", th, n, authority.LockoutFor(n, 5))
	}
}

func testLoginThrottlePrune(t *testing.T, db *store.DB) {
	ctx := context.Background()
	old := time.Now().Add(-48 * time.Hour).UTC()
	now := time.Now().UTC()
	_, _ = db.RecordLoginFailure(ctx, "old@example.com", old, lockAfter(5, old))
	_, _ = db.RecordLoginFailure(ctx, "new@example.com", now, lockAfter(5, now))
	n, err := db.PruneLoginThrottle(ctx, now.Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	if th, _ := db.LoginThrottle(ctx, "new@example.com"); th.Failures != 1 {
		t.Fatalf("recent row pruned: %+v", th)
	}
}

// Reserved attempts count in flight until settled; a failure adds to the
// failures, a success resets them, an unjudged attempt only leaves; a
// count reserved before staleBefore is forgotten.
func testLoginAttemptReserve(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	admitBelow := func(n int) func(authority.Throttle) bool {
		return func(th authority.Throttle) bool { return th.Failures+th.InFlight < n }
	}
	for i := 1; i <= 3; i++ {
		th, ok, err := db.ReserveLoginAttempt(ctx, "r@example.com", now, now.Add(-time.Minute), admitBelow(3))
		if err != nil || !ok || th.InFlight != i {
			t.Fatalf("reservation %d: %+v %v %v", i, th, ok, err)
		}
	}
	if th, ok, err := db.ReserveLoginAttempt(ctx, "r@example.com", now, now.Add(-time.Minute), admitBelow(3)); err != nil || ok || th.InFlight != 3 {
		t.Fatalf("fourth reservation with three in flight: %+v %v %v; want refused", th, ok, err)
	}
	th, err := db.SettleLoginAttempt(ctx, "r@example.com", now, authority.AttemptFailed, lockAfter(5, now))
	if err != nil || th.Failures != 1 || th.InFlight != 2 {
		t.Fatalf("failed settle = %+v, %v", th, err)
	}
	if th, err = db.SettleLoginAttempt(ctx, "r@example.com", now, authority.AttemptUnjudged, lockAfter(5, now)); err != nil || th.Failures != 1 || th.InFlight != 1 {
		t.Fatalf("unjudged settle = %+v, %v", th, err)
	}
	if _, err = db.SettleLoginAttempt(ctx, "r@example.com", now, authority.AttemptSucceeded, lockAfter(5, now)); err != nil {
		t.Fatal(err)
	}
	if th, _ := db.LoginThrottle(ctx, "r@example.com"); th != (authority.Throttle{}) {
		t.Fatalf("after success = %+v, want the row gone", th)
	}
	// A count left by a process that stopped is forgotten once stale.
	if _, ok, _ := db.ReserveLoginAttempt(ctx, "s@example.com", now, now.Add(-time.Minute), admitBelow(1)); !ok {
		t.Fatal("first reservation refused")
	}
	later := now.Add(2 * time.Minute)
	if th, ok, err := db.ReserveLoginAttempt(ctx, "s@example.com", later, later.Add(-time.Minute), admitBelow(1)); err != nil || !ok || th.InFlight != 1 {
		t.Fatalf("reservation after a stale one: %+v %v %v; want admitted", th, ok, err)
	}
}
