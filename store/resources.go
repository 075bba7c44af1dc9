package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

type resourceRow struct {
	ID        string `db:"id"`
	URI       string `db:"uri"`
	Name      string `db:"name"`
	CreatedAt int64  `db:"created_at"`
}

func (r resourceRow) resource() oidc.Resource {
	return oidc.Resource{ID: r.ID, URI: r.URI, Name: r.Name, CreatedAt: fromMS(r.CreatedAt)}
}

// CreateResource stores a resource server; oidc.ErrResourceTaken when its
// URI is registered already.
func (d *DB) CreateResource(ctx context.Context, r oidc.Resource) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO resources (id, uri, name, created_at) VALUES (?, ?, ?, ?)`),
		r.ID, r.URI, r.Name, ms(r.CreatedAt))
	if err != nil && isUniqueViolation(err) {
		return oidc.ErrResourceTaken
	}
	return d.wrap(err)
}

// ResourceByURI returns the resource with uri, or authority.ErrNotFound.
func (d *DB) ResourceByURI(ctx context.Context, uri string) (oidc.Resource, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r resourceRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT id, uri, name, created_at FROM resources WHERE uri = ?`), uri)
	if errors.Is(err, sql.ErrNoRows) {
		return oidc.Resource{}, authority.ErrNotFound
	}
	if err != nil {
		return oidc.Resource{}, d.wrap(err)
	}
	return r.resource(), nil
}

// Resources lists every resource, oldest first.
func (d *DB) Resources(ctx context.Context) ([]oidc.Resource, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []resourceRow
	if err := d.db.SelectContext(ctx, &rows, `SELECT id, uri, name, created_at FROM resources ORDER BY created_at, id`); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]oidc.Resource, len(rows))
	for i, r := range rows {
		out[i] = r.resource()
	}
	return out, nil
}

// DeleteResource removes a resource; authority.ErrNotFound for none.
func (d *DB) DeleteResource(ctx context.Context, id string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM resources WHERE id = ?`), id)
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
