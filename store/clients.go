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

type clientRow struct {
	ID         string `db:"id"`
	Name       string `db:"name"`
	SecretHash string `db:"secret_hash"`
	Scopes     string `db:"scopes"`
	Audience   string `db:"audience"`
	TokenTTL   int64  `db:"token_ttl"`
	CreatedAt  int64  `db:"created_at"`

	RedirectURIs           string `db:"redirect_uris"`
	PostLogoutRedirectURIs string `db:"post_logout_redirect_uris"`
	GrantTypes             string `db:"grant_types"`
	Public                 bool   `db:"public"`
	FirstParty             bool   `db:"first_party"`
	RequireMFA             bool   `db:"require_mfa"`
	PKCEOptional           bool   `db:"pkce_optional"`
	RegisteredAt           int64  `db:"registered_at"`
	RegistrationTokenHash  string `db:"registration_token_hash"`
}

const clientColumns = `id, name, secret_hash, scopes, audience, token_ttl, created_at, redirect_uris, post_logout_redirect_uris, grant_types, public, first_party, require_mfa, pkce_optional, registered_at, registration_token_hash`

// fields splits a space-separated column, never returning nil.
func fields(s string) []string {
	if f := strings.Fields(s); f != nil {
		return f
	}
	return []string{}
}

func (r clientRow) client() authority.Client {
	c := authority.Client{ID: r.ID, Name: r.Name, SecretHash: r.SecretHash, Scopes: fields(r.Scopes), Audience: r.Audience,
		TokenTTL: time.Duration(r.TokenTTL) * time.Millisecond, CreatedAt: fromMS(r.CreatedAt),
		RedirectURIs: fields(r.RedirectURIs), PostLogoutRedirectURIs: fields(r.PostLogoutRedirectURIs),
		GrantTypes: fields(r.GrantTypes), Public: r.Public, FirstParty: r.FirstParty, RequireMFA: r.RequireMFA,
		PKCEOptional: r.PKCEOptional, RegistrationTokenHash: r.RegistrationTokenHash}
	if r.RegisteredAt != 0 {
		c.RegisteredAt = fromMS(r.RegisteredAt)
	}
	return c
}

// CreateClient stores a client (its secret's hash only).
func (d *DB) CreateClient(ctx context.Context, c authority.Client) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.ID, c.Name, c.SecretHash, strings.Join(c.Scopes, " "), c.Audience, c.TokenTTL.Milliseconds(), ms(c.CreatedAt),
		strings.Join(c.RedirectURIs, " "), strings.Join(c.PostLogoutRedirectURIs, " "), strings.Join(c.GrantTypes, " "), c.Public, c.FirstParty, c.RequireMFA, c.PKCEOptional,
		registeredMS(c.RegisteredAt), c.RegistrationTokenHash)
	return d.wrap(err)
}

// registeredMS is the registered_at column: 0 for a client an
// administrator created.
func registeredMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// ClientByID returns the client with id, or authority.ErrNotFound.
// While FollowChanges runs, it answers from memory when it can.
func (d *DB) ClientByID(ctx context.Context, id string) (authority.Client, error) {
	c, ok, gen := d.clients.get(id)
	if ok {
		return c, nil
	}
	loaded := time.Now()
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r clientRow
	err := d.getHot(ctx, &r, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return authority.Client{}, authority.ErrNotFound
	}
	if err != nil {
		return authority.Client{}, d.wrap(err)
	}
	c = r.client()
	d.clients.put(c, gen, loaded)
	return c, nil
}

// ListClients returns every client, oldest first.
func (d *DB) ListClients(ctx context.Context) ([]authority.Client, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []clientRow
	if err := d.db.SelectContext(ctx, &rows, `SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]authority.Client, len(rows))
	for i, r := range rows {
		out[i] = r.client()
	}
	return out, nil
}

// DeleteClient removes a client and, in the same transaction, revokes the
// refresh tokens issued to it. authority.ErrNotFound for no such client.
func (d *DB) DeleteClient(ctx context.Context, id string, at time.Time) error {
	// Forgotten here at once; the trigger's notification tells the other
	// instances.
	defer d.clients.invalidate(id)
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM clients WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return authority.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`), ms(at), id)
		return err
	})
}
