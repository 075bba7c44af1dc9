package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/upstream"
)

// UnlinkIdentity removes the identity (upstream, subject) of the user,
// unless it is the user's last way to sign in: no password and no other
// identity (upstream.ErrLastSignIn, nothing removed). The user's row is
// locked first on Postgres (SQLite runs one writer at a time), so that
// two unlinks at once cannot each leave the other identity as the last
// and remove both. authority.ErrNotFound when the user has no such
// identity.
func (d *DB) UnlinkIdentity(ctx context.Context, userID, upstreamID, subject string) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		lock := ""
		if d.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var hash string
		err := tx.GetContext(ctx, &hash, tx.Rebind(`SELECT password_hash FROM users WHERE id = ?`+lock), userID)
		if errors.Is(err, sql.ErrNoRows) {
			return authority.ErrNotFound
		}
		if err != nil {
			return err
		}
		var mine, others int
		err = tx.GetContext(ctx, &mine, tx.Rebind(`SELECT COUNT(*) FROM upstream_identities WHERE user_id = ? AND upstream_id = ? AND subject = ?`),
			userID, upstreamID, subject)
		if err != nil {
			return err
		}
		if mine == 0 {
			return authority.ErrNotFound
		}
		err = tx.GetContext(ctx, &others, tx.Rebind(`SELECT COUNT(*) FROM upstream_identities WHERE user_id = ? AND NOT (upstream_id = ? AND subject = ?)`),
			userID, upstreamID, subject)
		if err != nil {
			return err
		}
		if hash == "" && others == 0 {
			return upstream.ErrLastSignIn
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM upstream_identities WHERE user_id = ? AND upstream_id = ? AND subject = ?`),
			userID, upstreamID, subject)
		return err
	})
}
