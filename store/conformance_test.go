package store_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
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
		{"UserEmails", testUserEmails},
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
		{"ResourcesAndTheirGrants", testResources},
		{"RegistrationTokensAndRegisteredClients", testRegistration},
		{"DeviceAuthorizations", testDeviceAuthorizations},
		{"Upstreams", testUpstreams},
		{"UpstreamUnlinkKeepsTheLastWayToSignIn", testUpstreamUnlink},
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
