package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache holds the statements of the hot paths (a login, a refresh, a
// client_credentials grant, an audit event) prepared once on one pool,
// on SQLite only. SQLite compiles every statement it is handed;
// preparing them per call was 14 % of the server's CPU under refresh
// load. database/sql keeps each statement prepared on every pool
// connection it has run on, and SQLite re-prepares a statement by itself
// if the schema changes under it.
//
// Postgres does not use it: a prepared plan there fails with "cached plan
// must not change result type" if another instance migrates the table
// while this one runs, and its parse cost is small next to the round trip.
type stmtCache struct {
	pool *sqlx.DB
	mu   sync.Mutex
	m    map[string]*sqlx.Stmt
	// want holds statements a transaction ran unprepared, to be prepared
	// once the transaction has given its connection back (see cached).
	want   map[string]bool
	closed bool
}

func newStmtCache(pool *sqlx.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sqlx.Stmt{}, want: map[string]bool{}}
}

var errStmtsClosed = errors.New("store: database closed")

// get returns query prepared on the pool, preparing it on first use. The
// lock is not held while preparing: on the writer's pool of one
// connection, preparing waits for that connection.
func (c *stmtCache) get(ctx context.Context, query string) (*sqlx.Stmt, error) {
	c.mu.Lock()
	s, ok := c.m[query]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := c.pool.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.Close()
		return nil, errStmtsClosed
	}
	if first, ok := c.m[query]; ok {
		s.Close()
		return first, nil
	}
	c.m[query] = s
	return s, nil
}

// cached returns query's statement if it is prepared already. If not, it
// notes that query is wanted: a transaction holds the writer's only
// connection, so preparing on the pool now would wait for itself.
func (c *stmtCache) cached(query string) (*sqlx.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[query]
	if !ok && !c.closed {
		c.want[query] = true
	}
	return s, ok
}

// prepareWanted prepares the statements transactions ran unprepared.
// Called once a transaction is over; a failure leaves them unprepared.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.want {
		qs = append(qs, q)
	}
	clear(c.want)
	c.mu.Unlock()
	for _, q := range qs {
		if _, err := c.get(ctx, q); err != nil {
			return
		}
	}
}

// close closes the prepared statements; nil does nothing.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// getHot runs a one-row read of a hot path into dest on the read pool,
// through a prepared statement on SQLite. query uses ? placeholders.
func (d *DB) getHot(ctx context.Context, dest any, query string, args ...any) error {
	if d.stmts == nil {
		return d.db.GetContext(ctx, dest, d.db.Rebind(query), args...)
	}
	s, err := d.stmts.get(ctx, query)
	if err != nil {
		return err
	}
	return s.GetContext(ctx, dest, args...)
}

// getHotTx is getHot inside the transaction tx, on the writer's
// connection: through the statement prepared there when there is one.
func (d *DB) getHotTx(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	if d.wstmts != nil {
		if s, ok := d.wstmts.cached(query); ok {
			return tx.StmtxContext(ctx, s).GetContext(ctx, dest, args...)
		}
	}
	return tx.GetContext(ctx, dest, tx.Rebind(query), args...)
}

// execHot runs a write of a hot path on ex, the writer's pool (d.w) or a
// transaction, through a prepared statement on SQLite. query uses ?
// placeholders.
func (d *DB) execHot(ctx context.Context, ex sqlx.ExtContext, query string, args ...any) (sql.Result, error) {
	if d.wstmts == nil {
		return ex.ExecContext(ctx, ex.Rebind(query), args...)
	}
	if tx, ok := ex.(*sqlx.Tx); ok {
		// Reuses the statement already prepared on the transaction's
		// connection.
		if s, ok := d.wstmts.cached(query); ok {
			return tx.StmtxContext(ctx, s).ExecContext(ctx, args...)
		}
		return tx.ExecContext(ctx, tx.Rebind(query), args...)
	}
	s, err := d.wstmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}
