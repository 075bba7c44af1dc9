package store

import (
	"context"

	"github.com/sigil-auth/sigil/authority"
)

// CreateRefreshToken stores a refresh token (its hash only).
func (d *DB) CreateRefreshToken(ctx context.Context, t authority.RefreshToken) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.db.ExecContext(ctx, d.db.Rebind(`INSERT INTO refresh_tokens (token_hash, family_id, user_id, client_id, scope, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		t.Hash, t.FamilyID, t.UserID, t.ClientID, t.Scope, ms(t.CreatedAt), ms(t.ExpiresAt))
	return d.wrap(err)
}
