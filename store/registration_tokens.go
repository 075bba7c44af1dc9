package store

import (
	"context"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

type registrationTokenRow struct {
	ID        string `db:"id"`
	TokenHash string `db:"token_hash"`
	CreatedAt int64  `db:"created_at"`
	ExpiresAt int64  `db:"expires_at"`
	Uses      int    `db:"uses"`
	UsesLeft  int    `db:"uses_left"`
}

const registrationTokenColumns = `id, token_hash, created_at, expires_at, uses, uses_left`

// CreateRegistrationToken stores an initial access token (its hash only).
func (d *DB) CreateRegistrationToken(ctx context.Context, t oidc.RegistrationToken) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO registration_tokens (`+registrationTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?)`),
		t.ID, t.TokenHash, ms(t.CreatedAt), ms(t.ExpiresAt), t.Uses, t.UsesLeft)
	return d.wrap(err)
}

// RegistrationTokens lists every initial access token, newest first.
func (d *DB) RegistrationTokens(ctx context.Context) ([]oidc.RegistrationToken, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []registrationTokenRow
	if err := d.db.SelectContext(ctx, &rows, `SELECT `+registrationTokenColumns+` FROM registration_tokens ORDER BY created_at DESC, id`); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]oidc.RegistrationToken, len(rows))
	for i, r := range rows {
		out[i] = oidc.RegistrationToken{ID: r.ID, TokenHash: r.TokenHash, CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt),
			Uses: r.Uses, UsesLeft: r.UsesLeft}
	}
	return out, nil
}

// DeleteRegistrationToken removes an initial access token;
// authority.ErrNotFound for none.
func (d *DB) DeleteRegistrationToken(ctx context.Context, id string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM registration_tokens WHERE id = ?`), id)
	if err != nil {
		return d.wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return d.wrap(err)
	} else if n == 0 {
		return authority.ErrNotFound
	}
	return nil
}

// SpendRegistrationToken takes one use of a live token in one UPDATE, so
// concurrent registrations cannot both take its last use;
// authority.ErrNotFound when no live token has that hash.
func (d *DB) SpendRegistrationToken(ctx context.Context, hash string, at time.Time) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE registration_tokens SET uses_left = uses_left - 1 WHERE token_hash = ? AND uses_left > 0 AND expires_at > ?`),
		hash, ms(at))
	if err != nil {
		return d.wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return d.wrap(err)
	} else if n == 0 {
		return authority.ErrNotFound
	}
	return nil
}
