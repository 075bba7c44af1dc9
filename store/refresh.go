package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
)

type refreshRow struct {
	Hash        string         `db:"token_hash"`
	FamilyID    string         `db:"family_id"`
	UserID      string         `db:"user_id"`
	ClientID    string         `db:"client_id"`
	Scope       string         `db:"scope"`
	CreatedAt   int64          `db:"created_at"`
	ExpiresAt   int64          `db:"expires_at"`
	SpentAt     sql.NullInt64  `db:"spent_at"`
	RevokedAt   sql.NullInt64  `db:"revoked_at"`
	ReplacedBy  sql.NullString `db:"replaced_by"`
	GraceUsedAt sql.NullInt64  `db:"grace_used_at"`
	UserAgent   string         `db:"user_agent"`
	IP          string         `db:"ip"`
	SessionID   sql.NullString `db:"session_id"`
	AMR         string         `db:"amr"`
	Resource    string         `db:"resource"`
}

const refreshColumns = `token_hash, family_id, user_id, client_id, scope, created_at, expires_at, spent_at, revoked_at, replaced_by, grace_used_at, user_agent, ip, session_id, amr, resource`

func (r refreshRow) token() authority.RefreshToken {
	return authority.RefreshToken{Hash: r.Hash, FamilyID: r.FamilyID, UserID: r.UserID, ClientID: r.ClientID, Scope: r.Scope,
		CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt), SpentAt: fromNullMS(r.SpentAt),
		RevokedAt: fromNullMS(r.RevokedAt), ReplacedBy: r.ReplacedBy.String, GraceUsedAt: fromNullMS(r.GraceUsedAt),
		UserAgent: r.UserAgent, IP: r.IP, SessionID: r.SessionID.String, AMR: strings.Fields(r.AMR), Resource: r.Resource}
}

func (d *DB) insertRefresh(ctx context.Context, ex sqlx.ExtContext, t authority.RefreshToken) error {
	_, err := d.execHot(ctx, ex, `INSERT INTO refresh_tokens (token_hash, family_id, user_id, client_id, scope, created_at, expires_at, user_agent, ip, session_id, amr, resource) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, t.UserID, t.ClientID, t.Scope, ms(t.CreatedAt), ms(t.ExpiresAt), t.UserAgent, t.IP, nullString(t.SessionID), strings.Join(t.AMR, " "), t.Resource)
	return err
}

// CreateRefreshToken stores a refresh token (its hash only).
func (d *DB) CreateRefreshToken(ctx context.Context, t authority.RefreshToken) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	return d.wrap(d.insertRefresh(ctx, d.w, t))
}

// RefreshTokenByHash returns the stored token with hash, or
// authority.ErrNotFound.
func (d *DB) RefreshTokenByHash(ctx context.Context, hash string) (authority.RefreshToken, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r refreshRow
	err := d.getHot(ctx, &r, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE token_hash = ?`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return authority.RefreshToken{}, authority.ErrNotFound
	}
	if err != nil {
		return authority.RefreshToken{}, d.wrap(err)
	}
	return r.token(), nil
}

// RefreshFamily returns every token of a family, oldest first.
func (d *DB) RefreshFamily(ctx context.Context, familyID string) ([]authority.RefreshToken, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []refreshRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT `+refreshColumns+` FROM refresh_tokens WHERE family_id = ? ORDER BY created_at, token_hash`), familyID); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]authority.RefreshToken, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// familyLockClass namespaces the Postgres advisory locks taken per refresh
// token family.
const familyLockClass = 0x5161_0002

// lockFamily serialises the transactions that change one family on
// Postgres. The changes are compare-and-swaps either way; the lock makes
// them take their row locks one family at a time, so a rotation and a
// family revocation can never deadlock. SQLite transactions are already
// serial.
func (d *DB) lockFamily(ctx context.Context, tx *sqlx.Tx, familyID string) error {
	if d.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, familyLockClass, familyID)
	return err
}

// errCAS rolls back a transaction whose compare-and-swap found the row
// changed; it leaves the store as authority.ErrConflict.
var errCAS = authority.ErrConflict

// affected returns errCAS unless the statement changed exactly one row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return errCAS
	}
	return nil
}

// SpendRefreshToken spends the live token oldHash and stores its successor
// next, in one transaction. The spend is a compare-and-swap on the token
// being unspent, unrevoked and unexpired; when it no longer is, nothing is
// written and the answer is authority.ErrConflict.
func (d *DB) SpendRefreshToken(ctx context.Context, oldHash string, next authority.RefreshToken) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := d.lockFamily(ctx, tx, next.FamilyID); err != nil {
			return err
		}
		at := ms(next.CreatedAt)
		if err := affected(d.execHot(ctx, tx, `UPDATE refresh_tokens SET spent_at = ?, replaced_by = ?
			WHERE token_hash = ? AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > ?`,
			at, next.Hash, oldHash, at)); err != nil {
			return err
		}
		return d.insertRefresh(ctx, tx, next)
	})
}

// RetryRefreshToken grants the one retry of a token spent at or after
// graceStart: it marks the grace used on oldHash (whose successor must
// still be prevNext), revokes prevNext (which must still be live) and
// stores next as the new successor, all in one transaction of
// compare-and-swaps. If any no longer holds nothing is written and the
// answer is authority.ErrConflict.
func (d *DB) RetryRefreshToken(ctx context.Context, oldHash, prevNext string, graceStart time.Time, next authority.RefreshToken) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := d.lockFamily(ctx, tx, next.FamilyID); err != nil {
			return err
		}
		at := ms(next.CreatedAt)
		if err := affected(tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET grace_used_at = ?, replaced_by = ?
			WHERE token_hash = ? AND replaced_by = ? AND spent_at >= ? AND grace_used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`),
			at, next.Hash, oldHash, prevNext, ms(graceStart), at)); err != nil {
			return err
		}
		if err := affected(tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ?
			WHERE token_hash = ? AND spent_at IS NULL AND revoked_at IS NULL`), at, prevNext)); err != nil {
			return err
		}
		return d.insertRefresh(ctx, tx, next)
	})
}

// RevokeRefreshFamily revokes every token of a family not revoked yet and
// returns how many were still live (neither spent nor revoked).
func (d *DB) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) (int, error) {
	var live int
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := d.lockFamily(ctx, tx, familyID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL AND spent_at IS NULL`), ms(at), familyID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		live = int(n)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`), ms(at), familyID)
		return err
	})
	return live, err
}
