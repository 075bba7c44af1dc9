package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/upstream"
)

type upstreamRow struct {
	ID           string `db:"id"`
	Name         string `db:"name"`
	Type         string `db:"type"`
	Issuer       string `db:"issuer"`
	ClientID     string `db:"client_id"`
	SealedSecret string `db:"sealed_secret"`
	Scopes       string `db:"scopes"`
	Linking      string `db:"linking"`
	CreatedAt    int64  `db:"created_at"`
}

const upstreamColumns = `id, name, type, issuer, client_id, sealed_secret, scopes, linking, created_at`

func (r upstreamRow) upstream() upstream.Upstream {
	return upstream.Upstream{ID: r.ID, Name: r.Name, Type: r.Type, Issuer: r.Issuer, ClientID: r.ClientID,
		SealedSecret: r.SealedSecret, Scopes: strings.Fields(r.Scopes), Linking: r.Linking, CreatedAt: fromMS(r.CreatedAt)}
}

// CreateUpstream stores an upstream; upstream.ErrUpstreamTaken when its
// id is taken.
func (d *DB) CreateUpstream(ctx context.Context, u upstream.Upstream) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO upstreams (`+upstreamColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Name, u.Type, u.Issuer, u.ClientID, u.SealedSecret, strings.Join(u.Scopes, " "), u.Linking, ms(u.CreatedAt))
	if err != nil && isUniqueViolation(err) {
		return upstream.ErrUpstreamTaken
	}
	return d.wrap(err)
}

// UpdateUpstream replaces an upstream's settings; authority.ErrNotFound
// for none.
func (d *DB) UpdateUpstream(ctx context.Context, u upstream.Upstream) error {
	return d.execOne(ctx, `UPDATE upstreams SET name = ?, type = ?, issuer = ?, client_id = ?, sealed_secret = ?, scopes = ?, linking = ? WHERE id = ?`,
		u.Name, u.Type, u.Issuer, u.ClientID, u.SealedSecret, strings.Join(u.Scopes, " "), u.Linking, u.ID)
}

// DeleteUpstream removes an upstream with its identities and pending
// sign-ins; authority.ErrNotFound for none.
func (d *DB) DeleteUpstream(ctx context.Context, id string) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM upstream_identities WHERE upstream_id = ?`), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM upstream_pending WHERE upstream_id = ?`), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM upstreams WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return authority.ErrNotFound
		}
		return nil
	})
}

// UpstreamByID returns the upstream id, or authority.ErrNotFound.
func (d *DB) UpstreamByID(ctx context.Context, id string) (upstream.Upstream, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r upstreamRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT `+upstreamColumns+` FROM upstreams WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return upstream.Upstream{}, authority.ErrNotFound
	}
	if err != nil {
		return upstream.Upstream{}, d.wrap(err)
	}
	return r.upstream(), nil
}

// Upstreams lists every upstream, oldest first.
func (d *DB) Upstreams(ctx context.Context) ([]upstream.Upstream, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []upstreamRow
	if err := d.db.SelectContext(ctx, &rows, `SELECT `+upstreamColumns+` FROM upstreams ORDER BY created_at, id`); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]upstream.Upstream, len(rows))
	for i, r := range rows {
		out[i] = r.upstream()
	}
	return out, nil
}

type identityRow struct {
	UpstreamID string `db:"upstream_id"`
	Subject    string `db:"subject"`
	UserID     string `db:"user_id"`
	Email      string `db:"email"`
	CreatedAt  int64  `db:"created_at"`
}

func (r identityRow) identity() upstream.Identity {
	return upstream.Identity{UpstreamID: r.UpstreamID, Subject: r.Subject, UserID: r.UserID, Email: r.Email, CreatedAt: fromMS(r.CreatedAt)}
}

const identityColumns = `upstream_id, subject, user_id, email, created_at`

// IdentityBySubject returns the identity (upstream, subject), or
// authority.ErrNotFound.
func (d *DB) IdentityBySubject(ctx context.Context, upstreamID, subject string) (upstream.Identity, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r identityRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT `+identityColumns+` FROM upstream_identities WHERE upstream_id = ? AND subject = ?`), upstreamID, subject)
	if errors.Is(err, sql.ErrNoRows) {
		return upstream.Identity{}, authority.ErrNotFound
	}
	if err != nil {
		return upstream.Identity{}, d.wrap(err)
	}
	return r.identity(), nil
}

// IdentitiesOf lists a user's identities, oldest first.
func (d *DB) IdentitiesOf(ctx context.Context, userID string) ([]upstream.Identity, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []identityRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT `+identityColumns+` FROM upstream_identities WHERE user_id = ? ORDER BY created_at, upstream_id, subject`), userID); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]upstream.Identity, len(rows))
	for i, r := range rows {
		out[i] = r.identity()
	}
	return out, nil
}

func insertIdentity(ctx context.Context, ex sqlx.ExecerContext, rebind func(string) string, id upstream.Identity) error {
	_, err := ex.ExecContext(ctx, rebind(`INSERT INTO upstream_identities (`+identityColumns+`) VALUES (?, ?, ?, ?, ?)`),
		id.UpstreamID, id.Subject, id.UserID, id.Email, ms(id.CreatedAt))
	if err != nil && isUniqueViolation(err) {
		return upstream.ErrIdentityTaken
	}
	return err
}

// LinkIdentity stores an identity; upstream.ErrIdentityTaken when
// (upstream, subject) is linked already.
func (d *DB) LinkIdentity(ctx context.Context, id upstream.Identity) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	return d.wrap(insertIdentity(ctx, d.w, d.w.Rebind, id))
}

// CreateLinkedUser creates u, its email verified when verified, and links
// id to it in one transaction; authority.ErrEmailTaken when the email is
// registered.
func (d *DB) CreateLinkedUser(ctx context.Context, u authority.User, verified bool, id upstream.Identity) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO users (`+userInsertColumns+`, email_verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			u.ID, u.Email, u.Name, u.PasswordHash, u.Admin, ms(u.CreatedAt), ms(u.UpdatedAt), verified)
		if err != nil && isUniqueViolation(err) {
			return authority.ErrEmailTaken
		}
		if err != nil {
			return err
		}
		return insertIdentity(ctx, tx, tx.Rebind, id)
	})
}

type pendingRow struct {
	Hash          string `db:"hash"`
	Kind          string `db:"kind"`
	UpstreamID    string `db:"upstream_id"`
	BrowserHash   string `db:"browser_hash"`
	Nonce         string `db:"nonce"`
	Authz         string `db:"authz"`
	Subject       string `db:"subject"`
	Email         string `db:"email"`
	EmailVerified bool   `db:"email_verified"`
	UserID        string `db:"user_id"`
	ExpiresAt     int64  `db:"expires_at"`
	Fresh         bool   `db:"fresh"`
}

const pendingColumns = `hash, kind, upstream_id, browser_hash, nonce, authz, subject, email, email_verified, user_id, expires_at, fresh`

// PutPending stores a sign-in in flight, replacing one of the same hash.
func (d *DB) PutPending(ctx context.Context, p upstream.Pending) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM upstream_pending WHERE hash = ? OR expires_at < ?`), p.Hash, ms(p.ExpiresAt.Add(-2*upstream.PendingTTL))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO upstream_pending (`+pendingColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.Hash, p.Kind, p.UpstreamID, p.BrowserHash, p.Nonce, p.Authz, p.Subject, p.Email, p.EmailVerified, p.UserID, ms(p.ExpiresAt), p.Fresh)
		return err
	})
}

// TakePending removes and returns the sign-in in flight of hash and kind:
// of two concurrent takes, one gets it and the other
// authority.ErrNotFound.
func (d *DB) TakePending(ctx context.Context, hash, kind string) (upstream.Pending, error) {
	var r pendingRow
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+pendingColumns+` FROM upstream_pending WHERE hash = ? AND kind = ?`), hash, kind)
		if errors.Is(err, sql.ErrNoRows) {
			return authority.ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM upstream_pending WHERE hash = ?`), hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return authority.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return upstream.Pending{}, err
	}
	return upstream.Pending{Hash: r.Hash, Kind: r.Kind, UpstreamID: r.UpstreamID, BrowserHash: r.BrowserHash, Nonce: r.Nonce,
		Authz: r.Authz, Subject: r.Subject, Email: r.Email, EmailVerified: r.EmailVerified, UserID: r.UserID, ExpiresAt: fromMS(r.ExpiresAt),
		Fresh: r.Fresh}, nil
}

// CountIdentities counts the identities linked through upstream id, and
// the accounts among theirs that have no password and no identity at
// another upstream.
func (d *DB) CountIdentities(ctx context.Context, id string) (upstream.IdentityCount, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n struct {
		Linked          int `db:"linked"`
		WithoutPassword int `db:"without_password"`
	}
	err := d.db.GetContext(ctx, &n, d.db.Rebind(`SELECT COUNT(*) AS linked,
		COUNT(DISTINCT CASE WHEN u.password_hash = '' AND NOT EXISTS (
			SELECT 1 FROM upstream_identities o WHERE o.user_id = i.user_id AND o.upstream_id <> i.upstream_id) THEN i.user_id END) AS without_password
		FROM upstream_identities i JOIN users u ON u.id = i.user_id WHERE i.upstream_id = ?`), id)
	if err != nil {
		return upstream.IdentityCount{}, d.wrap(err)
	}
	return upstream.IdentityCount{Linked: n.Linked, WithoutPassword: n.WithoutPassword}, nil
}
