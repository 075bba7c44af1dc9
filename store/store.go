package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sigil-auth/sigil/authority"
)

// Dialect names a supported database.
type Dialect string

// The supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// ErrUnavailable wraps errors caused by the database not answering.
var ErrUnavailable = authority.ErrUnavailable

// DB is an open Sigil database.
type DB struct {
	// db runs reads. On SQLite it is a pool of read-only connections.
	db *sqlx.DB
	// w runs writes and transactions. On SQLite it is a pool of one
	// connection, so writes queue in the process instead of in SQLite's
	// busy handler, and that connection keeps its page cache: a SQLite
	// connection drops its whole cache whenever another connection has
	// committed, so when every connection wrote, every statement began
	// by reading its pages again. On Postgres it is db.
	w       *sqlx.DB
	dialect Dialect
	url     string
	// queryTimeout bounds every query (nanoseconds; see SetQueryTimeout).
	queryTimeout atomic.Int64
	// KeyLockTimeout bounds a key change, including the wait for the key
	// lock: key changes from every instance queue on it, so they get
	// longer than an ordinary query.
	KeyLockTimeout time.Duration
	// stmts and wstmts hold the hot paths' prepared statements on db and
	// on w (nil on Postgres).
	stmts, wstmts *stmtCache
	// brk refuses queries while the database is known gone (nil on
	// SQLite); see breaker.
	brk *breaker
	// ready is the ping shared by concurrent Ready calls.
	ready readyPing
	// clients caches client rows while FollowChanges runs.
	clients clientCache
	// devices numbers device decisions while FollowChanges runs.
	devices deviceWatch
}

// DefaultQueryTimeout bounds every query unless SetQueryTimeout says
// otherwise.
const DefaultQueryTimeout = 5 * time.Second

// SetQueryTimeout sets the deadline of every query and of every network
// read or write to Postgres, so a hung or unreachable database turns into
// ErrUnavailable rather than a hung request. d <= 0 keeps the default.
func (d *DB) SetQueryTimeout(t time.Duration) {
	if t <= 0 {
		t = DefaultQueryTimeout
	}
	d.queryTimeout.Store(int64(t))
}

// QueryTimeout returns the deadline of every query.
func (d *DB) QueryTimeout() time.Duration { return time.Duration(d.queryTimeout.Load()) }

// ParseURL splits a SIGIL_DATABASE_URL into its dialect and driver source.
// "sqlite:PATH" (or "sqlite://PATH") is an SQLite file; "postgres://…" or
// "postgresql://…" is Postgres.
func ParseURL(raw string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", errors.New("SIGIL_DATABASE_URL: malformed postgres URL")
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("SIGIL_DATABASE_URL: sqlite: needs a file path, e.g. sqlite:sigil.db")
		}
		return SQLite, path, nil
	}
	return "", "", errors.New("SIGIL_DATABASE_URL must start with postgres:// or sqlite: (e.g. sqlite:sigil.db)")
}

// SQLitePath returns the file path of an sqlite: URL, or "" for another URL.
func SQLitePath(raw string) string {
	d, p, err := ParseURL(raw)
	if err != nil || d != SQLite {
		return ""
	}
	path, _, _ := strings.Cut(p, "?")
	return path
}

// Open connects to the database named by a SIGIL_DATABASE_URL and checks
// that it answers. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	dialect, src, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	d := &DB{dialect: dialect, url: rawURL}
	d.SetQueryTimeout(DefaultQueryTimeout)
	var db *sqlx.DB
	switch dialect {
	case Postgres:
		conn, err := pq.NewConnector(src)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		conn.Dialer(&deadlineDialer{timeout: &d.queryTimeout})
		db = sqlx.NewDb(sql.OpenDB(conn), "postgres")
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
		d.brk = newBreaker(func(ctx context.Context) error { return db.PingContext(ctx) }, d.QueryTimeout)
	case SQLite:
		path, query, _ := strings.Cut(src, "?")
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		if err := privateFiles(path); err != nil {
			return nil, err
		}
		// WAL lets readers run beside the writer; immediate transactions
		// take the write lock up front, so two writers queue on the busy
		// timeout instead of failing to upgrade a read lock.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		if query != "" {
			dsn += "&" + query
		}
		// The writer first: its first connection switches a new file to
		// WAL, which a read-only connection cannot do.
		w, err := sqlx.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		if err := pingBusy(ctx, w); err != nil {
			w.Close()
			return nil, err
		}
		// Readers may not write: a write on one of them would take
		// SQLite's lock beside the writer and empty the writer's cache.
		db, err = sqlx.Open("sqlite", dsn+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		d.w = w
		d.stmts = newStmtCache(db)
		d.wstmts = newStmtCache(w)
	}
	d.db = db
	if d.w == nil {
		d.w = db
	}
	d.KeyLockTimeout = 25 * time.Second
	if err := d.Ping(ctx); err != nil {
		d.closePools()
		return nil, err
	}
	return d, nil
}

// pingBusy pings the first connection of a SQLite pool, retried for a
// while when the file is busy: the first connection to a new file
// switches it to WAL, which needs the file to itself and fails at once,
// without the busy timeout, while another process opening the same new
// file does the same.
func pingBusy(ctx context.Context, db *sqlx.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, DefaultQueryTimeout)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// privateFiles makes the SQLite database file before SQLite does, mode
// 0600, and narrows an existing one and its -wal and -shm files to 0600:
// they hold password hashes and sealed keys. SQLite creates the -wal and
// -shm files with the database file's mode, so a private database file
// keeps them private from their creation on, whatever the umask.
func privateFiles(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("make %s private: %w", p, err)
		}
	}
	return nil
}

// Dialect reports which database d is.
func (d *DB) Dialect() Dialect { return d.dialect }

// Close closes the connection pool.
func (d *DB) Close() error {
	d.brk.shutdown()
	return d.closePools()
}

func (d *DB) closePools() error {
	d.stmts.close()
	d.wstmts.close()
	err := d.db.Close()
	if d.w != d.db {
		err = errors.Join(err, d.w.Close())
	}
	return err
}

// Ping checks that the database answers within the query timeout. While
// the breaker is open it fails at once; a ping that finds the database
// gone opens it.
func (d *DB) Ping(ctx context.Context) error {
	if d.brk.isOpen() {
		return errCircuitOpen
	}
	ctx, cancel := context.WithTimeout(ctx, d.QueryTimeout())
	defer cancel()
	if err := d.db.PingContext(ctx); err != nil {
		if tripsBreaker(err) {
			d.brk.trip(err)
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// timeout bounds a query by the query timeout. While the breaker is open
// the context it returns is already canceled, so the query fails at once
// (wrap turns that into errCircuitOpen) instead of waiting on a database
// known to be gone.
func (d *DB) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.brk.isOpen() {
		ctx, cancel := context.WithCancelCause(ctx)
		cancel(errCircuitOpen)
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d.QueryTimeout())
}

// inTx runs fn in one transaction with the query timeout, committing if fn
// returns nil and rolling back otherwise.
func (d *DB) inTx(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	return d.inTxNoTimeout(ctx, fn)
}

// inTxNoTimeout is inTx bounded only by ctx.
//
// On SQLite, transactions run on the writer's one connection, so they
// queue in the process for it (bounded by ctx) instead of in SQLite's
// busy handler, which polls with sleeps of 1 to 100 ms and would leave
// the lock free while the next writer sleeps. SQLite's own lock and busy
// timeout still order this process against other processes.
func (d *DB) inTxNoTimeout(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	if d.brk.isOpen() {
		return errCircuitOpen
	}
	err := d.runTx(ctx, fn)
	if d.wstmts != nil {
		// The writer's connection is free again: prepare what the
		// transaction had to run unprepared.
		d.wstmts.prepareWanted(ctx)
	}
	return err
}

func (d *DB) runTx(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	tx, err := d.w.BeginTxx(ctx, nil)
	if err != nil {
		return d.wrap(err)
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return d.wrap(err)
	}
	if err := tx.Commit(); err != nil {
		return d.wrap(err)
	}
	return nil
}

// wrap marks connection-level failures as ErrUnavailable so callers can
// answer 503 instead of 500, and opens the breaker when the failure says
// the database is gone (see tripsBreaker).
func (d *DB) wrap(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up, or the breaker refused the query (see
		// timeout); neither says anything new about the database.
		if d.brk.isOpen() {
			return fmt.Errorf("%w (%w)", errCircuitOpen, err)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if tripsBreaker(err) {
		d.brk.trip(err)
	}
	// A connection closed under a query surfaces from lib/pq as a bare
	// io.EOF.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driverBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isNetError(err) || isCanceled(err) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

func nowUTC() time.Time { return time.Now().UTC() }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
