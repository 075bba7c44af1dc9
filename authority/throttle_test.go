package authority_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

func TestLockoutDoublesFromOneMinuteUpToFifteen(t *testing.T) {
	cases := []struct {
		failures, threshold int
		want                time.Duration
	}{
		{0, 5, 0},
		{4, 5, 0},
		{5, 5, time.Minute},
		{6, 5, 2 * time.Minute},
		{7, 5, 4 * time.Minute},
		{8, 5, 8 * time.Minute},
		{9, 5, 15 * time.Minute},
		{1000, 5, 15 * time.Minute},
		{1 << 30, 1, 15 * time.Minute},
		{3, 0, 0}, // threshold 0: throttling off
		{1, 1, time.Minute},
	}
	for _, c := range cases {
		if got := authority.LockoutFor(c.failures, c.threshold); got != c.want {
			t.Errorf("LockoutFor(%d, %d) = %s, want %s", c.failures, c.threshold, got, c.want)
		}
	}
}

// countingStore is the real store, counting account lookups: a login
// that looks no account up hashes no password.
type countingStore struct {
	*store.DB
	lookups atomic.Int64
}

func (c *countingStore) UserByEmail(ctx context.Context, email string) (authority.User, error) {
	c.lookups.Add(1)
	return c.DB.UserByEmail(ctx, email)
}

// A locked email is refused before the account is looked up or any
// password hashed, for known and unknown emails alike.
func TestLockedEmailIsRefusedBeforeHashing(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLiteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{DB: db}
	now := time.Now().Truncate(time.Millisecond) // the store keeps milliseconds
	clock := func() time.Time { return now }
	svc, err := authority.New(authority.Config{
		Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: time.Minute, RefreshTTL: time.Hour,
		Argon2:           authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		LockoutThreshold: 3,
	}, cs, &keys.Ring{}, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	mfa.New(svc, cs, mfa.Config{})
	if _, err := svc.Signup(ctx, authority.Signup{Email: "known@example.com", Password: "password123"}, authority.Meta{}); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		for i := 0; i < 3; i++ {
			if _, err := svc.Login(ctx, email, "wrong-password", authority.Meta{}); !errors.Is(err, authority.ErrInvalidCredentials) {
				t.Fatalf("%s failure %d: %v", email, i, err)
			}
		}
		before := cs.lookups.Load()
		_, err := svc.Login(ctx, email, "password123", authority.Meta{IP: "192.0.2.1"})
		var te *authority.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter != time.Minute || !errors.Is(err, authority.ErrThrottled) {
			t.Fatalf("%s locked: %v, want ThrottledError for a minute", email, err)
		}
		if n := cs.lookups.Load() - before; n != 0 {
			t.Fatalf("%s: a locked login looked the account up %d times (and hashed)", email, n)
		}
	}
}

// Parallel wrong guesses for one account have at most the lockout
// threshold of passwords judged: each attempt is reserved in the database
// before its hash, counting with the failures, so the burst cannot all
// pass a check made before the first failure is recorded. Two instances
// share the database, as behind a load balancer.
func TestParallelGuessesHashAtMostTheThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		const threshold, guesses = 5, 50
		var instances [2]*authority.Service
		var stores [2]*countingStore
		for i := range instances {
			db, err := store.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			stores[i] = &countingStore{DB: db}
			instances[i], err = authority.New(authority.Config{
				Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: time.Minute, RefreshTTL: time.Hour,
				Argon2:           authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
				LockoutThreshold: threshold,
				// The hashing gate admits the whole burst: only the
				// throttle may hold it back.
				MaxConcurrentHashes: 4, MaxHashQueue: guesses, HashQueueWait: time.Minute,
			}, stores[i], &keys.Ring{}, time.Now, nil)
			if err != nil {
				t.Fatal(err)
			}
			mfa.New(instances[i], stores[i], mfa.Config{})
		}
		if _, err := instances[0].Signup(ctx, authority.Signup{Email: "target@example.com", Password: "password123"}, authority.Meta{}); err != nil {
			t.Fatal(err)
		}
		before := stores[0].lookups.Load() + stores[1].lookups.Load()

		start := make(chan struct{})
		errs := make(chan error, guesses)
		for i := 0; i < guesses; i++ {
			go func() {
				<-start
				_, err := instances[i%2].Login(ctx, "target@example.com", "wrong guess "+string(rune('a'+i%26)), authority.Meta{})
				errs <- err
			}()
		}
		close(start)
		var judged, throttled int
		for i := 0; i < guesses; i++ {
			err := <-errs
			switch {
			case errors.Is(err, authority.ErrInvalidCredentials):
				judged++
			case errors.Is(err, authority.ErrThrottled):
				throttled++
			default:
				t.Errorf("guess answered %v, want invalid credentials or throttled", err)
			}
		}
		hashed := stores[0].lookups.Load() + stores[1].lookups.Load() - before
		t.Logf("%d parallel guesses: %d hashed, %d judged, %d throttled", guesses, hashed, judged, throttled)
		if hashed > threshold || judged > threshold {
			t.Fatalf("%d passwords hashed and %d judged of %d parallel guesses; at most %d may be", hashed, judged, guesses, threshold)
		}
		if judged == 0 || int64(judged) != hashed {
			t.Fatalf("%d judged, %d hashed: every admitted guess is hashed once", judged, hashed)
		}
		th, err := stores[0].LoginThrottle(ctx, "target@example.com")
		if err != nil || th.Failures != judged || th.InFlight != 0 {
			t.Fatalf("throttle after the burst = %+v, %v; want %d failures and none in flight", th, err, judged)
		}
	})
}
