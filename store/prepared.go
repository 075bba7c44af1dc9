package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache holds the statements of the hot paths (a login, a refresh, a
// client_credentials grant, an audit event) prepared once, on SQLite only.
// SQLite compiles every statement it is handed; preparing them per call
// was 14 % of the server's CPU under refresh load. database/sql keeps each
// statement prepared on every pool connection it has run on, and SQLite
// re-prepares a statement by itself if the schema changes under it.
//
// Postgres does not use it: a prepared plan there fails with "cached plan
// must not change result type" if another instance migrates the table
// while this one runs, and its parse cost is small next to the round trip.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sqlx.Stmt
}

// prepared returns query prepared on the pool, preparing it on first use.
func (d *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	c := d.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s, nil
	}
	s, err := d.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = s
	return s, nil
}

// closeStmts closes the prepared statements.
func (d *DB) closeStmts() {
	if d.stmts == nil {
		return
	}
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	for q, s := range d.stmts.m {
		s.Close()
		delete(d.stmts.m, q)
	}
}

// getHot runs a one-row query of a hot path into dest, through a prepared
// statement on SQLite. query uses ? placeholders.
func (d *DB) getHot(ctx context.Context, dest any, query string, args ...any) error {
	if d.stmts == nil {
		return d.db.GetContext(ctx, dest, d.db.Rebind(query), args...)
	}
	s, err := d.prepared(ctx, query)
	if err != nil {
		return err
	}
	return s.GetContext(ctx, dest, args...)
}

// getHotTx is getHot inside the transaction tx: the statement prepared
// on the pool is reused on the transaction's connection.
func (d *DB) getHotTx(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	if d.stmts == nil {
		return tx.GetContext(ctx, dest, tx.Rebind(query), args...)
	}
	s, err := d.prepared(ctx, query)
	if err != nil {
		return err
	}
	return tx.StmtxContext(ctx, s).GetContext(ctx, dest, args...)
}

// execHot runs a statement of a hot path on ex (the pool or a
// transaction), through a prepared statement on SQLite. query uses ?
// placeholders.
func (d *DB) execHot(ctx context.Context, ex sqlx.ExtContext, query string, args ...any) (sql.Result, error) {
	if d.stmts == nil {
		return ex.ExecContext(ctx, ex.Rebind(query), args...)
	}
	s, err := d.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx, ok := ex.(*sqlx.Tx); ok {
		// Reuses the statement already prepared on the transaction's
		// connection; closed with the transaction.
		return tx.StmtxContext(ctx, s).ExecContext(ctx, args...)
	}
	return s.ExecContext(ctx, args...)
}
