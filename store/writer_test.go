package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// TestSQLiteTransactionsQueueInProcess: SQLite transactions wait for one
// another in the process, every one of a burst commits, and one whose
// context ends while it waits writes nothing and reports the database as
// unavailable.
func TestSQLiteTransactionsQueueInProcess(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, ctx)
	insert := func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (at, type) VALUES (1, 'test.queue')`)
		return err
	}

	entered, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- db.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
			close(entered)
			<-release
			return insert(ctx, tx)
		})
	}()
	<-entered
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	called := false
	err := db.inTx(short, func(ctx context.Context, tx *sqlx.Tx) error {
		called = true
		return insert(ctx, tx)
	})
	if !errors.Is(err, authority.ErrUnavailable) || called {
		t.Fatalf("queued past its deadline: err %v, ran %v; want ErrUnavailable without running", err, called)
	}
	// A waiting transaction holds no connection and has not begun: only
	// the holder's connection is in use.
	waiter := make(chan error, 1)
	go func() { waiter <- db.inTx(ctx, insert) }()
	time.Sleep(20 * time.Millisecond)
	if n := db.w.Stats().InUse; n != 1 {
		t.Fatalf("%d writer connections in use while one transaction holds the lock, want 1", n)
	}
	close(release)
	for _, ch := range []chan error{holder, waiter} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.inTx(ctx, insert)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM audit_events WHERE type = 'test.queue'`); err != nil {
		t.Fatal(err)
	}
	if n != 34 {
		t.Fatalf("%d rows written, want 34 (the holder, the waiter and the burst of 32)", n)
	}
}

// TestSQLiteWritesShareOneConnection: on SQLite every write goes through
// the writer's one connection. A write outside a transaction waits for
// the transaction holding it and then lands; reads go on meanwhile; and
// the read pool refuses to write at all, so no write can slip past the
// writer. A statement a transaction ran unprepared is prepared on the
// writer once the transaction is over.
func TestSQLiteWritesShareOneConnection(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, ctx)
	if n := db.w.Stats().MaxOpenConnections; n != 1 {
		t.Fatalf("writer pool allows %d connections, want 1", n)
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO audit_events (at, type) VALUES (1, 'test.reader')`); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("a write on the read pool: %v, want a read-only refusal", err)
	}

	const q = `INSERT INTO audit_events (at, type) VALUES (?, ?)`
	entered, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- db.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
			close(entered)
			<-release
			_, err := db.execHot(ctx, tx, q, 1, "test.tx")
			return err
		})
	}()
	<-entered
	single := make(chan error, 1)
	go func() { single <- db.RecordEvent(ctx, authority.Event{Type: "test.single"}) }()
	// Reads are not held up by the writer.
	var n int
	if err := db.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM audit_events`); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-single:
		t.Fatalf("a write landed while a transaction held the writer: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	if err := <-single; err != nil {
		t.Fatal(err)
	}
	if err := db.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM audit_events WHERE type IN ('test.tx', 'test.single')`); err != nil || n != 2 {
		t.Fatalf("%d rows written (%v), want 2", n, err)
	}
	if _, ok := db.wstmts.cached(q); !ok {
		t.Fatal("the statement the transaction ran is not prepared on the writer afterwards")
	}
}

// openSQLite opens and migrates a new SQLite database, closed when the
// test ends.
func openSQLite(t *testing.T, ctx context.Context) *DB {
	t.Helper()
	db, err := Open(ctx, storetest.SQLiteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
