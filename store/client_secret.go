package store

import (
	"context"

	"github.com/sigil-auth/sigil/authority"
)

// SetClientSecret replaces a client's secret hash; authority.ErrNotFound
// for no such client.
func (d *DB) SetClientSecret(ctx context.Context, id, secretHash string) error {
	defer d.clients.invalidate(id) // here at once; elsewhere by notification
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE clients SET secret_hash = ? WHERE id = ?`), secretHash, id)
	if err != nil {
		return d.wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.wrap(err)
	}
	if n == 0 {
		return authority.ErrNotFound
	}
	return nil
}
