package store

import (
	"context"
	"strings"

	"github.com/sigil-auth/sigil/authority"
)

// PutClient creates the client or, when its id exists, replaces every
// field but the creation time. Sigil's built-in clients are kept this way
// at start, so several instances starting together converge on one row.
func (d *DB) PutClient(ctx context.Context, c authority.Client) error {
	defer d.clients.invalidate(c.ID) // here at once; elsewhere by notification
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash, scopes = excluded.scopes,
audience = excluded.audience, token_ttl = excluded.token_ttl, redirect_uris = excluded.redirect_uris,
post_logout_redirect_uris = excluded.post_logout_redirect_uris, grant_types = excluded.grant_types,
public = excluded.public, first_party = excluded.first_party, require_mfa = excluded.require_mfa, pkce_optional = excluded.pkce_optional`),
		c.ID, c.Name, c.SecretHash, strings.Join(c.Scopes, " "), c.Audience, c.TokenTTL.Milliseconds(), ms(c.CreatedAt),
		strings.Join(c.RedirectURIs, " "), strings.Join(c.PostLogoutRedirectURIs, " "), strings.Join(c.GrantTypes, " "), c.Public, c.FirstParty, c.RequireMFA, c.PKCEOptional, registeredMS(c.RegisteredAt), c.RegistrationTokenHash)
	return d.wrap(err)
}
