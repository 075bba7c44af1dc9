package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
)

// LoginThrottle returns the failed-login state of a normalised email; an
// email never seen is the zero Throttle.
func (d *DB) LoginThrottle(ctx context.Context, email string) (authority.Throttle, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var row struct {
		Failures    int   `db:"failures"`
		LockedUntil int64 `db:"locked_until"`
	}
	err := d.getHot(ctx, &row, `SELECT failures, locked_until FROM login_throttle WHERE email = ?`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return authority.Throttle{}, nil
	}
	if err != nil {
		return authority.Throttle{}, d.wrap(err)
	}
	return authority.Throttle{Failures: row.Failures, LockedUntil: fromMS(row.LockedUntil)}, nil
}

// RecordLoginFailure counts one more failed login for email in one
// transaction: an UPSERT increments the counter (and, on Postgres, locks
// the row until commit; SQLite's immediate transaction holds the write
// lock), then lockUntil decides from the new count until when the email is
// refused, and that is written before the lock is released. Concurrent
// failures on every instance therefore each see a distinct count; none is
// lost and none computes its lock from a stale one.
func (d *DB) RecordLoginFailure(ctx context.Context, email string, at time.Time, lockUntil func(failures int) time.Time) (authority.Throttle, error) {
	var out authority.Throttle
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var n int
		err := tx.GetContext(ctx, &n, tx.Rebind(`INSERT INTO login_throttle (email, failures, locked_until, updated_at) VALUES (?, 1, 0, ?)
			ON CONFLICT (email) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = excluded.updated_at
			RETURNING failures`), email, ms(at))
		if err != nil {
			return err
		}
		until := lockUntil(n)
		if !until.IsZero() {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE login_throttle SET locked_until = ? WHERE email = ?`), ms(until), email); err != nil {
				return err
			}
		}
		out = authority.Throttle{Failures: n, LockedUntil: until}
		return nil
	})
	return out, err
}

// ResetLoginThrottle forgets the failures of email after a successful login.
func (d *DB) ResetLoginThrottle(ctx context.Context, email string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.db.ExecContext(ctx, d.db.Rebind(`DELETE FROM login_throttle WHERE email = ?`), email)
	return d.wrap(err)
}

// PruneLoginThrottle deletes throttle rows untouched since before and no
// longer locked, so guessed emails do not accumulate forever. It returns
// how many rows it removed.
func (d *DB) PruneLoginThrottle(ctx context.Context, before time.Time) (int64, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.db.ExecContext(ctx, d.db.Rebind(`DELETE FROM login_throttle WHERE updated_at < ? AND locked_until < ?`), ms(before), ms(before))
	if err != nil {
		return 0, d.wrap(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
