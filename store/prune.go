package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// pruneLockID is the Postgres advisory lock held by the instance that is
// pruning, so that several instances never prune at once.
const pruneLockID = 0x5161_0003

// Defaults of PruneOptions.
const (
	DefaultPruneBatch       = 1000
	DefaultPrunePause       = 50 * time.Millisecond
	DefaultMailRetention    = 7 * 24 * time.Hour
	DefaultThrottleIdleTime = 24 * time.Hour
)

// PruneOptions says what a pruning pass removes and how gently.
type PruneOptions struct {
	// Now is the clock of the pass; rows are judged expired against it.
	Now time.Time
	// AuditRetention is how long audit events are kept; 0 keeps them
	// forever.
	AuditRetention time.Duration
	// MailRetention is how long sent and failed mail stays in the
	// outbox (DefaultMailRetention if 0).
	MailRetention time.Duration
	// ThrottleIdle is how long a failed-login counter that no longer
	// locks is kept untouched (DefaultThrottleIdleTime if 0).
	ThrottleIdle time.Duration
	// Batch is the most rows one statement deletes (DefaultPruneBatch if
	// 0), so no statement holds locks or the SQLite write lock for long.
	Batch int
	// Pause is the wait between two batches (DefaultPrunePause if 0), so
	// requests get the database in between.
	Pause time.Duration
	// Holding, if set, is called once the pass holds the pruning lock,
	// before it deletes anything. Tests use it to watch for overlaps.
	Holding func()
}

// PruneResult says what a pruning pass did.
type PruneResult struct {
	// Ran is false when another instance held the pruning lock and this
	// pass did nothing.
	Ran bool
	// Rows counts the rows deleted per table (tables with none are
	// absent).
	Rows map[string]int64
}

// Total is the number of rows the pass deleted.
func (r PruneResult) Total() int64 {
	var n int64
	for _, v := range r.Rows {
		n += v
	}
	return n
}

// PruneTables lists the tables pruning deletes from, in the order a pass
// visits them.
var PruneTables = []string{
	"refresh_tokens", "authorization_codes", "browser_sessions", "revoked_tokens",
	"audit_events", "account_tokens", "mfa_tokens", "webauthn_ceremonies", "mail_outbox", "login_throttle",
	"device_authorizations",
}

// pruneRule is one table's batch: the key of its rows and the condition
// that makes a row garbage.
type pruneRule struct {
	table, key, where string
	args              []any
}

func (o PruneOptions) rules() []pruneRule {
	now := ms(o.Now)
	rules := []pruneRule{
		// A family's lifetime is absolute, so once its tokens have
		// expired no presentation of any of them, spent or revoked, can
		// succeed or needs judging as a reuse. The family check keeps
		// every token of a family until the last one has expired.
		{"refresh_tokens", "token_hash", `expires_at < ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens f WHERE f.family_id = t.family_id AND f.expires_at >= ?)`, []any{now, now}},
		// A used code is kept until the access token its redemption
		// issued has expired, so that a replay until then still revokes
		// what the code gave.
		{"authorization_codes", "code_hash", `expires_at < ? AND (used_at IS NULL OR access_exp < ?)`, []any{now, now}},
		// An expired session is kept while refresh tokens issued through
		// it live, so that a logout naming it still ends them.
		{"browser_sessions", "id", `expires_at < ? AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = t.id AND r.expires_at >= ?)`, []any{now, now}},
		// Entries are kept until the revoked token's exp plus leeway;
		// past it the token is refused as expired anyway.
		{"revoked_tokens", "jti", `expires_at < ?`, []any{now}},
	}
	if o.AuditRetention > 0 {
		rules = append(rules, pruneRule{"audit_events", "id", `at < ?`, []any{ms(o.Now.Add(-o.AuditRetention))}})
	}
	mailKeep, idle := o.MailRetention, o.ThrottleIdle
	if mailKeep <= 0 {
		mailKeep = DefaultMailRetention
	}
	if idle <= 0 {
		idle = DefaultThrottleIdleTime
	}
	return append(rules,
		pruneRule{"account_tokens", "token_hash", `expires_at < ?`, []any{now}},
		pruneRule{"mfa_tokens", "token_hash", `expires_at < ?`, []any{now}},
		pruneRule{"webauthn_ceremonies", "ceremony_hash", `expires_at < ?`, []any{now}},
		pruneRule{"mail_outbox", "id", `status IN ('sent', 'failed') AND created_at < ?`, []any{ms(o.Now.Add(-mailKeep))}},
		pruneRule{"login_throttle", "email", `updated_at < ? AND locked_until < ?`, []any{ms(o.Now.Add(-idle)), ms(o.Now.Add(-idle))}},
		// An expired device authorization can be neither confirmed nor
		// polled for tokens.
		pruneRule{"device_authorizations", "id", `expires_at < ?`, []any{now}},
	)
}

// Prune deletes expired and outdated rows: expired refresh-token
// families, authorization codes, browser sessions, deny-list entries,
// one-time account and second-factor tokens, old sent mail, idle
// failed-login counters and audit events older than AuditRetention. It
// deletes at most Batch rows per statement, each in its own short
// transaction, with Pause between them, until a batch comes back short.
//
// On Postgres only one instance prunes at a time: a pass that cannot take
// the pruning lock at once does nothing (Ran false). Pruning writes no
// audit events; it is housekeeping.
func (d *DB) Prune(ctx context.Context, o PruneOptions) (PruneResult, error) {
	if o.Now.IsZero() {
		o.Now = nowUTC()
	}
	if o.Batch <= 0 {
		o.Batch = DefaultPruneBatch
	}
	if o.Pause <= 0 {
		o.Pause = DefaultPrunePause
	}
	res := PruneResult{Rows: map[string]int64{}}
	if d.dialect == Postgres {
		unlock, ok, err := d.tryPruneLock(ctx)
		if err != nil || !ok {
			return res, err
		}
		defer unlock()
	}
	res.Ran = true
	if o.Holding != nil {
		o.Holding()
	}
	for _, r := range o.rules() {
		q := fmt.Sprintf(`DELETE FROM %s WHERE %s IN (SELECT t.%s FROM %s t WHERE %s LIMIT ?)`, r.table, r.key, r.key, r.table, r.where)
		args := append(append([]any{}, r.args...), o.Batch)
		for {
			var n int64
			err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
				out, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
				if err != nil {
					return err
				}
				n, err = out.RowsAffected()
				return err
			})
			if err != nil {
				return res, fmt.Errorf("prune %s: %w", r.table, err)
			}
			if n > 0 {
				res.Rows[r.table] += n
			}
			if n < int64(o.Batch) {
				break
			}
			select {
			case <-ctx.Done():
				return res, d.wrap(ctx.Err())
			case <-time.After(o.Pause):
			}
		}
	}
	return res, nil
}

// tryPruneLock takes the pruning lock on a connection of its own, held
// until unlock (or until the connection dies, which frees it in the
// server too). ok is false when another session holds it.
func (d *DB) tryPruneLock(ctx context.Context) (unlock func(), ok bool, err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, false, d.wrap(err)
	}
	qctx, cancel := d.timeout(ctx)
	defer cancel()
	if err := conn.QueryRowContext(qctx, `SELECT pg_try_advisory_lock($1)`, pruneLockID).Scan(&ok); err != nil || !ok {
		conn.Close()
		return nil, false, d.wrap(err)
	}
	return func() {
		uctx, cancel := d.timeout(context.Background())
		defer cancel()
		var released bool
		if err := conn.QueryRowContext(uctx, `SELECT pg_advisory_unlock($1)`, pruneLockID).Scan(&released); err != nil || !released {
			// The session may still hold the lock: drop the connection
			// rather than return it to the pool.
			_ = conn.Raw(func(any) error { return driverBadConn })
		}
		conn.Close()
	}, true, nil
}
