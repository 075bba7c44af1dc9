package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
)

// DenyAccessToken puts a revoked access token's jti on the deny list until
// expiresAt, and in the same transaction drops the entries that expired
// before at, so the list never outgrows the tokens still valid.
func (d *DB) DenyAccessToken(ctx context.Context, jti string, expiresAt, at time.Time) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		q := `INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), jti, ms(expiresAt), ms(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM revoked_tokens WHERE expires_at < ?`), ms(at))
		return err
	})
}

// DeniedSince returns the deny-list entries revoked at or after since that
// have not expired by notExpiredAt.
func (d *DB) DeniedSince(ctx context.Context, since, notExpiredAt time.Time) ([]authority.DeniedToken, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []struct {
		JTI       string `db:"jti"`
		ExpiresAt int64  `db:"expires_at"`
		RevokedAt int64  `db:"revoked_at"`
	}
	err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT jti, expires_at, revoked_at FROM revoked_tokens WHERE revoked_at >= ? AND expires_at >= ?`),
		since.UnixMilli(), notExpiredAt.UnixMilli())
	if err != nil {
		return nil, d.wrap(err)
	}
	out := make([]authority.DeniedToken, len(rows))
	for i, r := range rows {
		out[i] = authority.DeniedToken{JTI: r.JTI, ExpiresAt: fromMS(r.ExpiresAt), RevokedAt: fromMS(r.RevokedAt)}
	}
	return out, nil
}
