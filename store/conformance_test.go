package store_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// The conformance suite: every case runs against SQLite and Postgres.
func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"MigrateIsIdempotent", testMigrateIdempotent},
		{"UserEmailIsUnique", testUserEmailUnique},
		{"UserLookup", testUserLookup},
		{"PasswordHashCompareAndSwap", testPasswordCAS},
		{"KeysInsertAndUpdate", testKeysInsertUpdate},
		{"KeysRejectTwoActive", testKeysRejectTwoActive},
		{"KeysFnErrorWritesNothing", testKeysFnError},
		{"KeysConcurrentUpdatesSerialise", testKeysConcurrent},
		{"KeyEventsKeepWhoWhenWhy", testKeyEventsKeepWhoWhenWhy},
		{"KeysRejectRevokedWithPrivateKey", testKeysRejectRevokedWithPrivateKey},
		{"KeyLockWaitTimeoutIsUnavailable", testKeyLockWaitTimeout},
		{"RefreshTokenStored", testRefreshStored},
		{"AuditPagingAndFilters", testAuditPaging},
		{"RefreshSpendIsCompareAndSwap", testRefreshSpendCAS},
		{"RefreshRetryIsGrantedOnce", testRefreshRetryOnce},
		{"RefreshRevokeFamily", testRefreshRevokeFamily},
		{"ClientsStored", testClientsStored},
		{"DenyList", testDenyList},
		{"ImportIsAllOrNothing", testImportAllOrNothing},
		{"LoginThrottleCountsAndResets", testLoginThrottle},
		{"LoginThrottleConcurrentFailuresAreAllCounted", testLoginThrottleConcurrent},
		{"LoginThrottlePrune", testLoginThrottlePrune},
		{"LoginAttemptsReserveAndSettle", testLoginAttemptReserve},
		{"ClientSecretReplaced", testClientSecretReplaced},
		{"AuditTimeRange", testAuditTimeRange},
		{"ClientPutCreatesOrReplaces", testClientPut},
		{"ClientPKCEOptional", testClientPKCEOptional},
		{"BrowserSessionReauthReplacesCookie", testBrowserSessionReauthReplacesCookie},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					c.fn(t, openMigrated(t, b.NewURL(t)))
				})
			}
		})
	}
}

func openMigrated(t *testing.T, url string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

func testMigrateIdempotent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	applied, err := db.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, err %v; want nothing", applied, err)
	}
	if err := db.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
}

func user(email string) authority.User {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return authority.User{ID: "id-" + email, Email: email, Name: "N", PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}
}

func testUserEmailUnique(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.CreateUser(ctx, user("a@example.com")); err != nil {
		t.Fatal(err)
	}
	u := user("a@example.com")
	u.ID = "other"
	if err := db.CreateUser(ctx, u); !errors.Is(err, authority.ErrEmailTaken) {
		t.Fatalf("duplicate email: got %v, want ErrEmailTaken", err)
	}
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Fatalf("users = %d, want 1", n)
	}
}

func testUserLookup(t *testing.T, db *store.DB) {
	ctx := context.Background()
	in := user("b@example.com")
	in.Admin = true
	if err := db.CreateUser(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByEmail(ctx, "b@example.com")
	if err != nil || got.ID != in.ID || !got.Admin || !got.CreatedAt.Equal(in.CreatedAt) {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	if _, err := db.UserByID(ctx, "nope"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if ok, err := db.AdminExists(ctx); !ok || err != nil {
		t.Fatalf("AdminExists = %v, %v", ok, err)
	}
}

func testPasswordCAS(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := user("c@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplacePasswordHash(ctx, u.ID, "stale", "new"); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("stale CAS: %v", err)
	}
	if err := db.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "new"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.UserByID(ctx, u.ID)
	if got.PasswordHash != "new" {
		t.Fatalf("hash = %q", got.PasswordHash)
	}
}

func newSealer(t *testing.T) *keys.Sealer {
	kek, _ := keys.NewKEK()
	s, err := keys.ParseKEKs(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testKeysInsertUpdate(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := newSealer(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	r, err := keys.NewRecord(keys.EdDSA, s, now)
	if err != nil {
		t.Fatal(err)
	}
	r.State, r.ActivatedAt = keys.Active, now
	err = db.UpdateKeys(ctx, func(cur []keys.Record) (keys.Change, error) {
		if len(cur) != 0 {
			t.Errorf("fresh database has %d keys", len(cur))
		}
		return keys.Change{Keys: []keys.Record{r}, Events: []keys.Event{{Type: "key.activated", KID: r.KID, Actor: "test"}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.ListKeys(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListKeys = %v, %v", got, err)
	}
	g := got[0]
	if g.KID != r.KID || g.State != keys.Active || g.Sealed != r.Sealed || string(g.PublicJWK) != string(r.PublicJWK) || !g.ActivatedAt.Equal(now) || !g.RetiredAt.IsZero() {
		t.Fatalf("round trip mismatch: %+v", g)
	}
	if _, err := keys.OpenPrivate(g, s); err != nil {
		t.Fatalf("stored key does not unseal: %v", err)
	}
	ev, err := db.ListEvents(ctx, store.AuditQuery{Type: "key.activated"})
	if err != nil || len(ev) != 1 || ev[0].KID != r.KID {
		t.Fatalf("audit = %+v, %v", ev, err)
	}
}

func testKeysRejectTwoActive(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := newSealer(t)
	now := time.Now()
	a, _ := keys.NewRecord(keys.ES256, s, now)
	b, _ := keys.NewRecord(keys.ES256, s, now)
	a.State, b.State = keys.Active, keys.Active
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{a, b}}, nil
	})
	if err == nil {
		t.Fatal("two active keys were accepted")
	}
	if got, _ := db.ListKeys(ctx); len(got) != 0 {
		t.Fatalf("a failed update left %d rows", len(got))
	}
}

func testKeysFnError(t *testing.T, db *store.DB) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) { return keys.Change{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

// Concurrent read-modify-write updates must serialise: each sees the
// previous one's write, so none is lost.
func testKeysConcurrent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := newSealer(t)
	first, _ := keys.NewRecord(keys.EdDSA, s, time.Now())
	first.State = keys.Active
	if err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{first}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.UpdateKeys(ctx, func(cur []keys.Record) (keys.Change, error) {
				var ch keys.Change
				for _, r := range cur {
					if r.State == keys.Active {
						r.State, r.RetiredAt = keys.Retired, time.Now()
						ch.Keys = append(ch.Keys, r)
					}
				}
				nr, err := keys.NewRecord(keys.EdDSA, s, time.Now())
				if err != nil {
					return ch, err
				}
				nr.State = keys.Active
				ch.Keys = append(ch.Keys, nr)
				return ch, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent update: %v", err)
		}
	}
	got, _ := db.ListKeys(ctx)
	active := 0
	for _, r := range got {
		if r.State == keys.Active {
			active++
		}
	}
	if len(got) != n+1 || active != 1 {
		t.Fatalf("after %d rotations: %d keys, %d active; want %d and 1", n, len(got), active, n+1)
	}
}

func testRefreshStored(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := user("r@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rt := authority.RefreshToken{Hash: authority.HashToken("secret-token"), FamilyID: "f1", UserID: u.ID, ClientID: "sigil", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRefreshToken(ctx, rt); err == nil {
		t.Fatal("the same token hash was stored twice")
	}
}

func testAuditPaging(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		typ := "login.failure"
		if i%2 == 0 {
			typ = "login.success"
		}
		if err := db.RecordEvent(ctx, authority.Event{Type: typ, UserID: "u1", IP: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.ListEvents(ctx, store.AuditQuery{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID <= page[1].ID {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	next, _ := db.ListEvents(ctx, store.AuditQuery{Limit: 10, Before: page[1].ID})
	if len(next) != 3 || next[0].ID >= page[1].ID {
		t.Fatalf("second page = %+v", next)
	}
	succ, _ := db.ListEvents(ctx, store.AuditQuery{Type: "login.success"})
	if len(succ) != 3 {
		t.Fatalf("filtered = %d events, want 3", len(succ))
	}
}

// Instances starting together on one database must each see a fully
// migrated schema, with every migration applied once.
func TestConcurrentMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		const n = 4
		var wg sync.WaitGroup
		applied := make(chan int, n*10)
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := store.Open(ctx, url)
				if err != nil {
					errs <- err
					return
				}
				defer db.Close()
				vs, err := db.Migrate(ctx)
				for _, v := range vs {
					applied <- v
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		close(applied)
		for err := range errs {
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
		}
		seen := map[int]int{}
		for v := range applied {
			seen[v]++
		}
		dialect, _, _ := store.ParseURL(url)
		files, err := os.ReadDir("migrations/" + string(dialect))
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(files) || seen[openMigrated(t, url).LatestVersion()] != 1 {
			t.Fatalf("applied versions %v, want each of the %d migrations once", seen, len(files))
		}
		for v, c := range seen {
			if c != 1 {
				t.Fatalf("migration %d applied %d times", v, c)
			}
		}
	})
}

func activeKey(t *testing.T, db *store.DB) keys.Record {
	t.Helper()
	r, err := keys.NewRecord(keys.EdDSA, newSealer(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.State, r.ActivatedAt = keys.Active, r.CreatedAt
	if err := db.UpdateKeys(context.Background(), func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{r}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func testKeyEventsKeepWhoWhenWhy(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := activeKey(t, db)
	at := time.Date(2031, 5, 6, 7, 8, 9, 123e6, time.UTC)
	if err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Events: []keys.Event{{Type: "key.rewrapped", KID: r.KID, Actor: "cli", Reason: "sealed under key-encryption key k2", At: at}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ev, err := db.ListEvents(ctx, store.AuditQuery{Type: "key.rewrapped"})
	if err != nil || len(ev) != 1 {
		t.Fatalf("events = %+v, %v", ev, err)
	}
	if e := ev[0]; e.KID != r.KID || e.Actor != "cli" || e.Detail != "sealed under key-encryption key k2" || !e.At.Equal(at) {
		t.Fatalf("event = %+v", e)
	}
}

func testKeysRejectRevokedWithPrivateKey(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := activeKey(t, db)
	p, _ := keys.NewRecord(keys.EdDSA, newSealer(t), time.Now())
	p.State = keys.Revoked // sealed key still present
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{p}}, nil
	})
	if err == nil {
		t.Fatal("a revoked key keeping its private key was accepted")
	}
	if got, _ := db.ListKeys(ctx); len(got) != 1 || got[0].KID != r.KID {
		t.Fatalf("a refused update left %+v", got)
	}
}

// A key change that cannot get the key lock in time fails as unavailable
// (503 to clients), never as an internal error, and writes nothing.
func testKeyLockWaitTimeout(t *testing.T, db *store.DB) {
	ctx := context.Background()
	activeKey(t, db)
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
			close(held)
			<-release
			return keys.Change{}, nil
		})
	}()
	<-held
	defer func() { close(release); <-done }()
	db.KeyLockTimeout = 300 * time.Millisecond
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Events: []keys.Event{{Type: "key.rewrapped", Actor: "test", Reason: "x"}}}, nil
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("waiting for the key lock past the timeout: %v, want ErrUnavailable", err)
	}
}

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

// The query deadline bounds every query (a database that does not answer
// in time is ErrUnavailable) but not migrations, which may legitimately
// run longer.
func TestQueryDeadlineBoundsQueriesNotMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetQueryTimeout(time.Nanosecond)
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate under a 1ns query deadline: %v", err)
		}
		if _, err := db.CountUsers(ctx); !errors.Is(err, authority.ErrUnavailable) {
			t.Fatalf("query past its deadline: %v, want ErrUnavailable", err)
		}
		db.SetQueryTimeout(0) // back to the default
		if got := db.QueryTimeout(); got != store.DefaultQueryTimeout {
			t.Fatalf("QueryTimeout = %s, want the default", got)
		}
		// On Postgres the timed-out query opened the breaker; its probe
		// closes it within a probe interval or so. (lib/pq cancels a
		// timed-out statement with a separate cancel request, which can
		// land on the connection's next statement and trip the breaker
		// once more: the database answers again within the same bound.)
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := db.CountUsers(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("query with the default deadline, 10 s after the timed-out one: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
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
