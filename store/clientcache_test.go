package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// waitFor polls cond every 10 ms for up to 10 s (generous: the machine is
// shared) and returns how long it took, failing the test if it never held.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within 10s", what)
	return 0
}

// openTwo opens url twice, as two instances (or a server and the CLI)
// would, and migrates it; both close when the test ends.
func openTwo(t *testing.T, ctx context.Context, url string) (a, b *store.DB) {
	t.Helper()
	open := func() *store.DB {
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b = open(), open()
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Two instances on one Postgres, both caching clients: a client read on
// one is served from memory there (a change made behind the trigger's
// back is not seen), a rotated secret and a deletion made on the other are
// seen as soon as the notification arrives, and at once on the instance
// that made them. When the listener's connection is cut, a change whose
// notification is lost still shows: the cache is off until the listener
// reconnects, and starts empty then.
func TestClientCacheFollowsNotifications(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := openTwo(t, ctx, url)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, db := range []*store.DB{a, b} {
		if err := db.FollowChanges(ctx, log); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// behindTheTrigger changes a row without a notification, as a change
	// whose notification was lost.
	behindTheTrigger := func(id, name string) {
		t.Helper()
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		for _, q := range []string{`ALTER TABLE clients DISABLE TRIGGER sigil_clients_changed`,
			`UPDATE clients SET name = '` + name + `' WHERE id = '` + id + `'`,
			`ALTER TABLE clients ENABLE TRIGGER sigil_clients_changed`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	client := func(db *store.DB, id string) authority.Client {
		t.Helper()
		c, err := db.ClientByID(ctx, id)
		if err != nil {
			t.Fatalf("ClientByID(%s): %v", id, err)
		}
		return c
	}

	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range []string{"c1", "c2"} {
		if err := a.CreateClient(ctx, authority.Client{ID: id, Name: "first", SecretHash: "h1", Scopes: []string{"read"},
			Audience: "api", GrantTypes: []string{"client_credentials"}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if c := client(b, "c1"); c.SecretHash != "h1" {
		t.Fatalf("b reads %+v", c)
	}
	// The notifications of the two inserts may still be on their way and
	// empty b's entry once more; then b reads and caches the row again.
	// A row changed behind the trigger's back after b read it is not
	// seen while b serves from memory.
	n := 0
	waitFor(t, "b serves c1 from memory", func() bool {
		n++
		client(b, "c1")
		hidden := fmt.Sprintf("hidden %d", n)
		behindTheTrigger("c1", hidden)
		return client(b, "c1").Name != hidden
	})
	c := client(b, "c1")
	c.Scopes[0] = "changed by a caller"
	if c := client(b, "c1"); c.Scopes[0] != "read" {
		t.Fatalf("a caller changed the cached entry: %v", c.Scopes)
	}

	// A rotated secret: at once on a, on b when the notification comes.
	client(a, "c1")
	if err := a.SetClientSecret(ctx, "c1", "h2"); err != nil {
		t.Fatal(err)
	}
	if c := client(a, "c1"); c.SecretHash != "h2" {
		t.Fatalf("a still has the old secret after rotating it")
	}
	took := waitFor(t, "b sees the new secret", func() bool { return client(b, "c1").SecretHash == "h2" })
	t.Logf("rotation seen by the other instance after %s", took)

	// A deleted client: gone at once on a, on b when the notification comes.
	if err := a.DeleteClient(ctx, "c1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ClientByID(ctx, "c1"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("a after delete: %v", err)
	}
	took = waitFor(t, "b forgets the deleted client", func() bool {
		_, err := b.ClientByID(ctx, "c1")
		return errors.Is(err, authority.ErrNotFound)
	})
	t.Logf("deletion seen by the other instance after %s", took)

	// The listener's connection is cut; a change made meanwhile sends no
	// notification b could receive.
	if c := client(b, "c2"); c.Name != "first" {
		t.Fatalf("c2: %+v", c)
	}
	var dbname string
	if err := raw.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	res, err := raw.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND query LIKE 'LISTEN%' AND (query LIKE '%`+store.ClientsChannel+`%' OR query LIKE '%`+store.DevicesChannel+`%')`, dbname)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("terminated %d listeners, want 2", n)
	}
	behindTheTrigger("c2", "changed while b was not listening")
	took = waitFor(t, "b reads c2 afresh after losing its listener", func() bool {
		return client(b, "c2").Name == "changed while b was not listening"
	})
	t.Logf("change missed by the listener seen after %s", took)
	// Once reconnected, b caches again and follows notifications.
	waitFor(t, "b caches again", func() bool {
		n++
		client(b, "c2")
		hidden := fmt.Sprintf("hidden %d", n)
		behindTheTrigger("c2", hidden)
		return client(b, "c2").Name != hidden
	})
	if err := a.SetClientSecret(ctx, "c2", "h3"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b sees c2's new secret", func() bool { return client(b, "c2").SecretHash == "h3" })
}

// On SQLite a process caches the clients it reads; its own changes show
// at once, and another process's changes (here a second store.DB on the
// same file, as the CLI would be) within a poll of the writer
// connection's data_version. A read between such a change and the next
// poll may still be answered from memory, which shows the cache serves.
func TestClientCacheOnSQLiteFollowsOtherProcesses(t *testing.T) {
	url := storetest.SQLiteURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, cli := openTwo(t, ctx, url)
	if err := a.FollowChanges(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	client := func(id string) authority.Client {
		t.Helper()
		c, err := a.ClientByID(ctx, id)
		if err != nil {
			t.Fatalf("ClientByID(%s): %v", id, err)
		}
		return c
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := a.CreateClient(ctx, authority.Client{ID: "c1", Name: "first", SecretHash: "h1", Scopes: []string{"read"},
		Audience: "api", GrantTypes: []string{"client_credentials"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	// Served from memory: right after another process rotates the
	// secret, a read that beats the next poll still has the old one.
	// The poll may come first; then try again.
	served := false
	for i := 0; i < 20 && !served; i++ {
		client("c1")
		secret := fmt.Sprintf("other %d", i)
		if err := cli.SetClientSecret(ctx, "c1", secret); err != nil {
			t.Fatal(err)
		}
		served = client("c1").SecretHash != secret
		took := waitFor(t, "a sees the other process's secret", func() bool { return client("c1").SecretHash == secret })
		if took > 5*time.Second {
			t.Fatalf("another process's change took %s to show", took)
		}
	}
	if !served {
		t.Fatal("no read was answered from memory in 20 tries")
	}

	// This process's own change shows at once.
	client("c1")
	if err := a.SetClientSecret(ctx, "c1", "mine"); err != nil {
		t.Fatal(err)
	}
	if c := client("c1"); c.SecretHash != "mine" {
		t.Fatalf("own rotation not seen at once: %q", c.SecretHash)
	}
	c := client("c1")
	c.Scopes[0] = "changed by a caller"
	if c := client("c1"); c.Scopes[0] != "read" {
		t.Fatalf("a caller changed the cached entry: %v", c.Scopes)
	}

	// Another process deletes it: gone after the next poll.
	client("c1")
	if err := cli.DeleteClient(ctx, "c1", time.Now()); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "a forgets the client another process deleted", func() bool {
		_, err := a.ClientByID(ctx, "c1")
		return errors.Is(err, authority.ErrNotFound)
	})
	t.Logf("deletion by another process seen after %s", took)
}

// DeviceWatch moves at once with this instance's device decisions, with
// another instance's when the trigger's notification arrives on
// Postgres, and with another process's within a data_version poll on
// SQLite; creating authorizations does not move it.
func TestDeviceWatchFollowsDecisions(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			url := b.NewURL(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a, other := openTwo(t, ctx, url)
			if _, following := a.DeviceWatch(); following {
				t.Fatal("decisions followed before FollowChanges")
			}
			if err := a.FollowChanges(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			for i := range 2 {
				d := oidc.DeviceAuthorization{ID: fmt.Sprintf("dev%d", i), DeviceCodeHash: fmt.Sprintf("dch%d", i), UserCodeHash: fmt.Sprintf("uch%d", i),
					ClientID: "cli", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), Status: oidc.DevicePending}
				if err := a.CreateDeviceAuthorization(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			gen, following := a.DeviceWatch()
			if !following {
				t.Fatal("decisions not followed")
			}
			// Creating authorizations announces nothing.
			time.Sleep(300 * time.Millisecond)
			if g, _ := a.DeviceWatch(); g != gen {
				t.Fatal("the number moved without a decision")
			}
			if err := other.DecideDeviceAuthorization(ctx, "dev1", oidc.DeviceDecision{Status: oidc.DeviceDenied, At: now}); err != nil {
				t.Fatal(err)
			}
			took := waitFor(t, "a sees the other's decision", func() bool {
				g, on := a.DeviceWatch()
				return on && g != gen
			})
			gen, _ = a.DeviceWatch()
			if err := a.DecideDeviceAuthorization(ctx, "dev0", oidc.DeviceDecision{Status: oidc.DeviceDenied, At: now}); err != nil {
				t.Fatal(err)
			}
			if g, _ := a.DeviceWatch(); g == gen {
				t.Fatal("this instance's decision did not move the number at once")
			}
			t.Logf("another instance's decision seen after %s", took)
		})
	}
}
