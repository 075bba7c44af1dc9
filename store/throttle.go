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
	var row throttleRow
	err := d.getHot(ctx, &row, `SELECT failures, locked_until, in_flight, in_flight_at FROM login_throttle WHERE email = ?`, email)
	if errors.Is(err, sql.ErrNoRows) {
		return authority.Throttle{}, nil
	}
	if err != nil {
		return authority.Throttle{}, d.wrap(err)
	}
	return row.throttle(time.Time{}), nil
}

type throttleRow struct {
	Failures    int   `db:"failures"`
	LockedUntil int64 `db:"locked_until"`
	InFlight    int   `db:"in_flight"`
	InFlightAt  int64 `db:"in_flight_at"`
}

// throttle converts the row, forgetting an in-flight count last reserved
// before staleBefore.
func (r throttleRow) throttle(staleBefore time.Time) authority.Throttle {
	t := authority.Throttle{Failures: r.Failures, LockedUntil: fromMS(r.LockedUntil), InFlight: r.InFlight}
	if r.InFlightAt < ms(staleBefore) {
		t.InFlight = 0
	}
	return t
}

// ReserveLoginAttempt reserves one attempt on key in one transaction: an
// UPSERT creates or locks the row (on Postgres the row lock is held until
// commit, so reservations from every instance on the database take turns;
// SQLite's immediate transaction holds the write lock), admit decides from
// the current failures and attempts in flight, and an admitted attempt is
// counted in flight before the lock is released. An in-flight count last
// reserved before staleBefore is left over by a process that stopped
// mid-attempt and counts as zero.
func (d *DB) ReserveLoginAttempt(ctx context.Context, key string, at, staleBefore time.Time, admit func(authority.Throttle) bool) (authority.Throttle, bool, error) {
	var (
		out authority.Throttle
		ok  bool
	)
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var row throttleRow
		err := tx.GetContext(ctx, &row, tx.Rebind(`INSERT INTO login_throttle (email, failures, locked_until, updated_at) VALUES (?, 0, 0, ?)
			ON CONFLICT (email) DO UPDATE SET updated_at = excluded.updated_at
			RETURNING failures, locked_until, in_flight, in_flight_at`), key, ms(at))
		if err != nil {
			return err
		}
		out, ok = row.throttle(staleBefore), false
		if !admit(out) {
			return nil
		}
		out.InFlight++
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE login_throttle SET in_flight = ?, in_flight_at = ? WHERE email = ?`), out.InFlight, ms(at), key); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return out, ok, err
}

// SettleLoginAttempt ends an attempt reserved by ReserveLoginAttempt, in
// one transaction. A failure is counted and lockUntil decides from the new
// count until when the key is refused; a success forgets the failures
// (and the row once no other attempt is in flight); an attempt that was
// never judged (the hashing gate refused it, the database failed) only
// leaves the in-flight count.
func (d *DB) SettleLoginAttempt(ctx context.Context, key string, at time.Time, outcome authority.AttemptOutcome, lockUntil func(failures int) time.Time) (authority.Throttle, error) {
	var out authority.Throttle
	const leave = `in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END`
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		switch outcome {
		case authority.AttemptFailed:
			var row throttleRow
			err := tx.GetContext(ctx, &row, tx.Rebind(`INSERT INTO login_throttle (email, failures, locked_until, updated_at) VALUES (?, 1, 0, ?)
				ON CONFLICT (email) DO UPDATE SET failures = login_throttle.failures + 1, `+leaveQualified+`, updated_at = excluded.updated_at
				RETURNING failures, locked_until, in_flight, in_flight_at`), key, ms(at))
			if err != nil {
				return err
			}
			out = row.throttle(time.Time{})
			out.LockedUntil = time.Time{}
			if until := lockUntil(row.Failures); !until.IsZero() {
				out.LockedUntil = until
				_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE login_throttle SET locked_until = ? WHERE email = ?`), ms(until), key)
			}
			return err
		case authority.AttemptSucceeded:
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE login_throttle SET failures = 0, locked_until = 0, `+leave+`, updated_at = ? WHERE email = ?`), ms(at), key); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM login_throttle WHERE email = ? AND in_flight = 0`), key)
			return err
		default:
			var row throttleRow
			err := tx.GetContext(ctx, &row, tx.Rebind(`UPDATE login_throttle SET `+leave+` WHERE email = ?
				RETURNING failures, locked_until, in_flight, in_flight_at`), key)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			out = row.throttle(time.Time{})
			return err
		}
	})
	return out, err
}

// leaveQualified is the in-flight decrement inside an UPSERT's update,
// where the column names the existing row.
const leaveQualified = `in_flight = CASE WHEN login_throttle.in_flight > 0 THEN login_throttle.in_flight - 1 ELSE 0 END`

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
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM login_throttle WHERE email = ?`), email)
	return d.wrap(err)
}

// PruneLoginThrottle deletes throttle rows untouched since before and no
// longer locked, so guessed emails do not accumulate forever. It returns
// how many rows it removed.
func (d *DB) PruneLoginThrottle(ctx context.Context, before time.Time) (int64, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM login_throttle WHERE updated_at < ? AND locked_until < ?`), ms(before), ms(before))
	if err != nil {
		return 0, d.wrap(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
