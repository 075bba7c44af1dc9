package store

import "context"

// CountClients returns how many OAuth 2.0 clients exist.
func (d *DB) CountClients(ctx context.Context) (int, error) {
	return d.count(ctx, `SELECT COUNT(*) FROM clients`)
}

func (d *DB) count(ctx context.Context, query string) (int, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n int
	if err := d.db.GetContext(ctx, &n, query); err != nil {
		return 0, d.wrap(err)
	}
	return n, nil
}
