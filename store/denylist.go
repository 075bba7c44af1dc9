package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
)

// DenyAccessToken puts a deny-list key (an access token's jti, "sid:" and a
// refresh-token family, "client:" and a client id) on the list until
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

// DeniedAfter returns the deny-list entries with a sequence number above
// after that have not expired by notExpiredAt, in sequence order.
func (d *DB) DeniedAfter(ctx context.Context, after int64, notExpiredAt time.Time) ([]authority.DeniedToken, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []struct {
		Seq       int64  `db:"seq"`
		JTI       string `db:"jti"`
		ExpiresAt int64  `db:"expires_at"`
		RevokedAt int64  `db:"revoked_at"`
	}
	err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT seq, jti, expires_at, revoked_at FROM revoked_tokens WHERE seq > ? AND expires_at >= ? ORDER BY seq`),
		after, notExpiredAt.UnixMilli())
	if err != nil {
		return nil, d.wrap(err)
	}
	out := make([]authority.DeniedToken, len(rows))
	for i, r := range rows {
		out[i] = authority.DeniedToken{Seq: r.Seq, JTI: r.JTI, ExpiresAt: fromMS(r.ExpiresAt), RevokedAt: fromMS(r.RevokedAt)}
	}
	return out, nil
}
