package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mail"
)

type outboxRow struct {
	ID            string        `db:"id"`
	UserID        string        `db:"user_id"`
	Kind          string        `db:"kind"`
	Body          string        `db:"body"`
	Status        string        `db:"status"`
	Attempts      int           `db:"attempts"`
	NextAttemptAt int64         `db:"next_attempt_at"`
	ClaimedBy     string        `db:"claimed_by"`
	LeaseUntil    int64         `db:"lease_until"`
	LastError     string        `db:"last_error"`
	CreatedAt     int64         `db:"created_at"`
	SentAt        sql.NullInt64 `db:"sent_at"`
}

const outboxColumns = `id, user_id, kind, body, status, attempts, next_attempt_at, claimed_by, lease_until, last_error, created_at, sent_at`

func (r outboxRow) row() mail.Row {
	return mail.Row{ID: r.ID, UserID: r.UserID, Kind: r.Kind, Body: r.Body, Status: r.Status, Attempts: r.Attempts,
		NextAttemptAt: fromMS(r.NextAttemptAt), ClaimedBy: r.ClaimedBy, LeaseUntil: fromMS(r.LeaseUntil),
		LastError: r.LastError, CreatedAt: fromMS(r.CreatedAt), SentAt: fromNullMS(r.SentAt)}
}

// EnqueueMail stores a pending message.
func (d *DB) EnqueueMail(ctx context.Context, r mail.Row) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO mail_outbox (id, user_id, kind, body, status, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`), r.ID, r.UserID, r.Kind, r.Body, ms(r.NextAttemptAt), ms(r.CreatedAt))
	return d.wrap(err)
}

// ClaimMail marks up to limit due pending messages as sending by owner and
// returns them. On Postgres the rows are picked with FOR UPDATE SKIP
// LOCKED, so concurrent instances claim disjoint rows without waiting on
// each other; SQLite transactions are serial.
func (d *DB) ClaimMail(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]mail.Row, error) {
	var out []mail.Row
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		pick := `SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`
		if d.dialect == Postgres {
			pick += ` FOR UPDATE SKIP LOCKED`
		}
		var ids []string
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(pick), ms(now), limit); err != nil {
			return err
		}
		for _, id := range ids {
			var r outboxRow
			err := tx.GetContext(ctx, &r, tx.Rebind(`UPDATE mail_outbox SET status = 'sending', claimed_by = ?, lease_until = ?
				WHERE id = ? AND status = 'pending' RETURNING `+outboxColumns), owner, ms(leaseUntil), id)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, r.row())
		}
		return nil
	})
	return out, err
}

// FinishMail marks a message owner claimed as sent.
func (d *DB) FinishMail(ctx context.Context, id, owner string, at time.Time) error {
	return d.execOne(ctx, `UPDATE mail_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = ''
		WHERE id = ? AND claimed_by = ? AND status = 'sending'`, ms(at), id, owner)
}

// RetryMail puts a message owner claimed back to pending.
func (d *DB) RetryMail(ctx context.Context, id, owner string, attempts int, next time.Time, lastError string) error {
	return d.execOne(ctx, `UPDATE mail_outbox SET status = 'pending', attempts = ?, next_attempt_at = ?, last_error = ?, claimed_by = '', lease_until = 0
		WHERE id = ? AND claimed_by = ? AND status = 'sending'`, attempts, ms(next), truncateErr(lastError), id, owner)
}

// FailMail marks a message owner claimed as failed for good.
func (d *DB) FailMail(ctx context.Context, id, owner string, attempts int, lastError string) error {
	return d.execOne(ctx, `UPDATE mail_outbox SET status = 'failed', attempts = ?, last_error = ?
		WHERE id = ? AND claimed_by = ? AND status = 'sending'`, attempts, truncateErr(lastError), id, owner)
}

// ExpireMailLeases marks failed the messages still sending past their
// lease and returns them.
func (d *DB) ExpireMailLeases(ctx context.Context, now time.Time) ([]mail.Row, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []outboxRow
	err := d.w.SelectContext(ctx, &rows, d.w.Rebind(`UPDATE mail_outbox SET status = 'failed', last_error = 'lease expired during delivery'
		WHERE status = 'sending' AND lease_until < ? RETURNING `+outboxColumns), ms(now))
	if err != nil {
		return nil, d.wrap(err)
	}
	out := make([]mail.Row, len(rows))
	for i, r := range rows {
		out[i] = r.row()
	}
	return out, nil
}

// MailOutbox returns every message, oldest first, for operators' checks
// and tests.
func (d *DB) MailOutbox(ctx context.Context) ([]mail.Row, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []outboxRow
	if err := d.db.SelectContext(ctx, &rows, `SELECT `+outboxColumns+` FROM mail_outbox ORDER BY created_at, id`); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]mail.Row, len(rows))
	for i, r := range rows {
		out[i] = r.row()
	}
	return out, nil
}

func truncateErr(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

var _ authority.AccountStore = (*DB)(nil)
var _ mail.Queue = (*DB)(nil)
