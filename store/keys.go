package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// keyLockID is the Postgres advisory lock that serialises key changes
// across instances.
const keyLockID = 0x5161_0002

// KeysChannel is the Postgres NOTIFY channel announcing a key change.
const KeysChannel = "sigil_keys"

type keyRow struct {
	KID         string         `db:"kid"`
	Alg         string         `db:"alg"`
	State       string         `db:"state"`
	PublicJWK   string         `db:"public_jwk"`
	SealedKey   sql.NullString `db:"sealed_key"`
	CreatedAt   int64          `db:"created_at"`
	ActivatedAt sql.NullInt64  `db:"activated_at"`
	RetiredAt   sql.NullInt64  `db:"retired_at"`
	RevokedAt   sql.NullInt64  `db:"revoked_at"`
	ExpiresAt   sql.NullInt64  `db:"expires_at"`
}

func (r keyRow) record() keys.Record {
	return keys.Record{
		KID: r.KID, Alg: keys.Alg(r.Alg), State: keys.State(r.State),
		PublicJWK: []byte(r.PublicJWK), Sealed: r.SealedKey.String,
		CreatedAt: fromMS(r.CreatedAt), ActivatedAt: fromNullMS(r.ActivatedAt),
		RetiredAt: fromNullMS(r.RetiredAt), RevokedAt: fromNullMS(r.RevokedAt),
		ExpiresAt: fromNullMS(r.ExpiresAt),
	}
}

const keyColumns = `kid, alg, state, public_jwk, sealed_key, created_at, activated_at, retired_at, revoked_at, expires_at`

// ListKeys returns every signing key record.
func (d *DB) ListKeys(ctx context.Context) ([]keys.Record, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []keyRow
	if err := d.db.SelectContext(ctx, &rows, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, kid`); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]keys.Record, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out, nil
}

// UpdateKeys runs fn on the current key set inside one transaction that
// holds the key lock (a transaction-scoped advisory lock on Postgres; the
// write lock of an immediate transaction on SQLite), writes the records and
// audit events it returns, checks that exactly one key is active, and on
// Postgres notifies KeysChannel when the transaction commits. It is bounded
// by KeyLockTimeout rather than QueryTimeout, since it may queue behind
// key changes of other instances.
func (d *DB) UpdateKeys(ctx context.Context, fn func(current []keys.Record) (keys.Change, error)) error {
	if d.KeyLockTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.KeyLockTimeout)
		defer cancel()
	}
	return d.inTxNoTimeout(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if d.dialect == Postgres {
			if err := takeKeyLock(ctx, tx); err != nil {
				return err
			}
		}
		var rows []keyRow
		if err := tx.SelectContext(ctx, &rows, `SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at, kid`); err != nil {
			return err
		}
		cur := make([]keys.Record, len(rows))
		byKID := map[string]int{}
		for i, r := range rows {
			cur[i] = r.record()
			byKID[r.KID] = i
		}
		ch, err := fn(append([]keys.Record(nil), cur...))
		if err != nil {
			return err
		}
		if len(ch.Keys) == 0 && len(ch.Events) == 0 {
			return nil
		}
		// Write demotions before promotions, so the one-active index never
		// sees two active rows.
		changed := append([]keys.Record(nil), ch.Keys...)
		sort.SliceStable(changed, func(i, j int) bool {
			return changed[i].State != keys.Active && changed[j].State == keys.Active
		})
		for _, r := range changed {
			if i, ok := byKID[r.KID]; ok {
				cur[i] = r
				if err := updateKey(ctx, tx, r); err != nil {
					return err
				}
				continue
			}
			byKID[r.KID] = len(cur)
			cur = append(cur, r)
			if err := insertKey(ctx, tx, r); err != nil {
				return err
			}
		}
		if err := keys.CheckInvariants(cur); err != nil {
			return err
		}
		for _, e := range ch.Events {
			if err := d.insertAudit(ctx, tx, authority.Event{At: e.At, Type: e.Type, Actor: e.Actor, KID: e.KID, Detail: e.Reason}); err != nil {
				return err
			}
		}
		if d.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, KeysChannel); err != nil {
				return err
			}
		}
		return nil
	})
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func insertKey(ctx context.Context, tx *sqlx.Tx, r keys.Record) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.KID, string(r.Alg), string(r.State), string(r.PublicJWK), nullString(r.Sealed), ms(r.CreatedAt),
		nullMS(r.ActivatedAt), nullMS(r.RetiredAt), nullMS(r.RevokedAt), nullMS(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert key %s: %w", r.KID, err)
	}
	return nil
}

func updateKey(ctx context.Context, tx *sqlx.Tx, r keys.Record) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE signing_keys SET state = ?, sealed_key = ?, activated_at = ?, retired_at = ?, revoked_at = ?, expires_at = ? WHERE kid = ?`),
		string(r.State), nullString(r.Sealed), nullMS(r.ActivatedAt), nullMS(r.RetiredAt), nullMS(r.RevokedAt), nullMS(r.ExpiresAt), r.KID)
	if err != nil {
		return fmt.Errorf("update key %s: %w", r.KID, err)
	}
	return nil
}

// takeKeyLock takes the transaction-scoped key lock, polling with
// pg_try_advisory_xact_lock rather than blocking in pg_advisory_xact_lock:
// every statement must answer within the connection's I/O deadline (the
// query timeout), while a key change may queue behind other instances'
// changes for longer. The wait is bounded by ctx.
func takeKeyLock(ctx context.Context, tx *sqlx.Tx) error {
	wait := 5 * time.Millisecond
	for {
		var got bool
		if err := tx.GetContext(ctx, &got, `SELECT pg_try_advisory_xact_lock($1)`, keyLockID); err != nil {
			return fmt.Errorf("take key lock: %w", err)
		}
		if got {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("take key lock: %w", ctx.Err())
		case <-time.After(wait):
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}
