package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
)

type browserSessionRow struct {
	ID         string        `db:"id"`
	TokenHash  string        `db:"token_hash"`
	UserID     string        `db:"user_id"`
	AuthTime   int64         `db:"auth_time"`
	AMR        string        `db:"amr"`
	CreatedAt  int64         `db:"created_at"`
	LastUsedAt int64         `db:"last_used_at"`
	ExpiresAt  int64         `db:"expires_at"`
	RevokedAt  sql.NullInt64 `db:"revoked_at"`
	UserAgent  string        `db:"user_agent"`
	IP         string        `db:"ip"`
}

const browserSessionColumns = `id, token_hash, user_id, auth_time, amr, created_at, last_used_at, expires_at, revoked_at, user_agent, ip`

func (r browserSessionRow) session() oidc.BrowserSession {
	return oidc.BrowserSession{ID: r.ID, TokenHash: r.TokenHash, UserID: r.UserID, AuthTime: fromMS(r.AuthTime),
		AMR: strings.Fields(r.AMR), CreatedAt: fromMS(r.CreatedAt), LastUsedAt: fromMS(r.LastUsedAt),
		ExpiresAt: fromMS(r.ExpiresAt), RevokedAt: fromNullMS(r.RevokedAt), UserAgent: r.UserAgent, IP: r.IP}
}

// CreateBrowserSession stores a browser session (its cookie's hash only).
func (d *DB) CreateBrowserSession(ctx context.Context, s oidc.BrowserSession) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO browser_sessions (`+browserSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		s.ID, s.TokenHash, s.UserID, ms(s.AuthTime), strings.Join(s.AMR, " "), ms(s.CreatedAt), ms(s.LastUsedAt),
		ms(s.ExpiresAt), nullMS(s.RevokedAt), s.UserAgent, s.IP)
	return d.wrap(err)
}

// BrowserSessionByHash returns the session whose cookie hashes to
// tokenHash with its user, read in one statement, or authority.ErrNotFound
// (also when the user is gone).
func (d *DB) BrowserSessionByHash(ctx context.Context, tokenHash string) (oidc.BrowserSession, authority.User, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r struct {
		browserSessionRow
		User userRow `db:"u"`
	}
	err := d.getHot(ctx, &r, `SELECT s.`+strings.ReplaceAll(browserSessionColumns, ", ", ", s.")+`, `+joinedUserColumns+
		` FROM browser_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, tokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return oidc.BrowserSession{}, authority.User{}, authority.ErrNotFound
	}
	if err != nil {
		return oidc.BrowserSession{}, authority.User{}, d.wrap(err)
	}
	return r.session(), r.User.user(), nil
}

// browserSession reads the one session query selects, or
// authority.ErrNotFound.
func (d *DB) browserSession(ctx context.Context, query string, arg string) (oidc.BrowserSession, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r browserSessionRow
	err := d.getHot(ctx, &r, query, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return oidc.BrowserSession{}, authority.ErrNotFound
	}
	if err != nil {
		return oidc.BrowserSession{}, d.wrap(err)
	}
	return r.session(), nil
}

// TouchBrowserSession records the session's last use.
func (d *DB) TouchBrowserSession(ctx context.Context, id string, at time.Time) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.execHot(ctx, d.w, `UPDATE browser_sessions SET last_used_at = ? WHERE id = ? AND last_used_at < ?`, ms(at), id, ms(at))
	return d.wrap(err)
}

// ReauthBrowserSession records a fresh sign-in in a live session and
// replaces its cookie's hash; ErrNotFound when the session has ended.
func (d *DB) ReauthBrowserSession(ctx context.Context, id, tokenHash string, authTime time.Time, amr []string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE browser_sessions SET token_hash = ?, auth_time = ?, amr = ?, last_used_at = ? WHERE id = ? AND revoked_at IS NULL`),
		tokenHash, ms(authTime), strings.Join(amr, " "), ms(authTime), id)
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

// BrowserSessionByID returns the session named id, or
// authority.ErrNotFound.
func (d *DB) BrowserSessionByID(ctx context.Context, id string) (oidc.BrowserSession, error) {
	return d.browserSession(ctx, `SELECT `+browserSessionColumns+` FROM browser_sessions WHERE id = ?`, id)
}

// EndBrowserSession revokes a live session and the refresh tokens issued
// through it, in one transaction, and returns the session's user and the
// families whose access tokens are to be denied: the refresh-token
// families it revoked and those of the code-flow access tokens issued in
// the session that may still live.
func (d *DB) EndBrowserSession(ctx context.Context, id string, at time.Time) (string, []string, error) {
	var userID string
	var families []string
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		families = nil
		err := tx.GetContext(ctx, &userID, tx.Rebind(`SELECT user_id FROM browser_sessions WHERE id = ? AND revoked_at IS NULL`), id)
		if errors.Is(err, sql.ErrNoRows) {
			return authority.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE browser_sessions SET revoked_at = ? WHERE id = ?`), ms(at), id); err != nil {
			return err
		}
		families, err = endSessionTokens(ctx, tx, id, at)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return userID, families, nil
}

type authCodeRow struct {
	Hash          string        `db:"code_hash"`
	ClientID      string        `db:"client_id"`
	UserID        string        `db:"user_id"`
	SessionID     string        `db:"session_id"`
	RedirectURI   string        `db:"redirect_uri"`
	Scope         string        `db:"scope"`
	Nonce         string        `db:"nonce"`
	CodeChallenge string        `db:"code_challenge"`
	AuthTime      int64         `db:"auth_time"`
	AMR           string        `db:"amr"`
	CreatedAt     int64         `db:"created_at"`
	ExpiresAt     int64         `db:"expires_at"`
	UsedAt        sql.NullInt64 `db:"used_at"`
	FamilyID      string        `db:"family_id"`
	AccessJTI     string        `db:"access_jti"`
	AccessExp     int64         `db:"access_exp"`
	Resource      string        `db:"resource"`
}

const authCodeColumns = `code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, created_at, expires_at, used_at, family_id, access_jti, access_exp, resource`

func (r authCodeRow) code() oidc.AuthCode {
	c := oidc.AuthCode{Hash: r.Hash, ClientID: r.ClientID, UserID: r.UserID, SessionID: r.SessionID,
		RedirectURI: r.RedirectURI, Scope: r.Scope, Nonce: r.Nonce, CodeChallenge: r.CodeChallenge,
		AuthTime: fromMS(r.AuthTime), AMR: strings.Fields(r.AMR), CreatedAt: fromMS(r.CreatedAt),
		ExpiresAt: fromMS(r.ExpiresAt), UsedAt: fromNullMS(r.UsedAt), FamilyID: r.FamilyID, AccessJTI: r.AccessJTI, Resource: r.Resource}
	if r.AccessExp != 0 {
		c.AccessExp = fromMS(r.AccessExp)
	}
	return c
}

// CreateAuthCode stores an authorization code (its hash only).
func (d *DB) CreateAuthCode(ctx context.Context, c oidc.AuthCode) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.execHot(ctx, d.w, `INSERT INTO authorization_codes (`+authCodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, ms(c.AuthTime),
		strings.Join(c.AMR, " "), ms(c.CreatedAt), ms(c.ExpiresAt), nullMS(c.UsedAt), c.FamilyID, c.AccessJTI, 0, c.Resource)
	return d.wrap(err)
}

// redeemedCodeRow is a code with its user and the state of its browser
// session, NULL when the session is gone.
type redeemedCodeRow struct {
	authCodeRow
	User          userRow        `db:"u"`
	SessID        sql.NullString `db:"sess_id"`
	SessUserID    sql.NullString `db:"sess_user_id"`
	SessExpiresAt sql.NullInt64  `db:"sess_expires_at"`
	SessRevokedAt sql.NullInt64  `db:"sess_revoked_at"`
}

// redeemedCodeQuery reads a code, its user and its browser session in
// one statement: the code exchange needs the account as it is now and
// checks the session is still live, and a query for each was a tenth of
// the exchange's database time. A code goes with its user (the foreign
// key cascades), so the user's join is an inner one.
var redeemedCodeQuery = `SELECT c.` + strings.ReplaceAll(authCodeColumns, ", ", ", c.") + `, ` + joinedUserColumns +
	`, s.id AS sess_id, s.user_id AS sess_user_id, s.expires_at AS sess_expires_at, s.revoked_at AS sess_revoked_at` +
	` FROM authorization_codes c JOIN users u ON u.id = c.user_id LEFT JOIN browser_sessions s ON s.id = c.session_id WHERE c.code_hash = ?`

func (r redeemedCodeRow) code() oidc.AuthCode {
	c := r.authCodeRow.code()
	c.User = r.User.user()
	if r.SessID.Valid {
		c.Session = oidc.BrowserSession{ID: r.SessID.String, UserID: r.SessUserID.String,
			ExpiresAt: fromMS(r.SessExpiresAt.Int64), RevokedAt: fromNullMS(r.SessRevokedAt)}
	}
	return c
}

// RedeemAuthCode spends an unused code as one compare-and-swap: of two
// concurrent redemptions exactly one finds it unused.
func (d *DB) RedeemAuthCode(ctx context.Context, hash string, at time.Time, familyID, accessJTI string, accessExp time.Time) (oidc.AuthCode, error) {
	var out oidc.AuthCode
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := d.execHot(ctx, tx, `UPDATE authorization_codes SET used_at = ?, family_id = ?, access_jti = ?, access_exp = ? WHERE code_hash = ? AND used_at IS NULL`,
			ms(at), familyID, accessJTI, ms(accessExp), hash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		var r redeemedCodeRow
		err = d.getHotTx(ctx, tx, &r, redeemedCodeQuery, hash)
		if errors.Is(err, sql.ErrNoRows) {
			return authority.ErrNotFound
		}
		if err != nil {
			return err
		}
		out = r.code()
		if n == 0 {
			return authority.ErrConflict
		}
		return nil
	})
	if errors.Is(err, authority.ErrConflict) {
		return out, authority.ErrConflict
	}
	return out, err
}

// ConsentedScopes returns the scopes userID has granted clientID.
func (d *DB) ConsentedScopes(ctx context.Context, userID, clientID string) ([]string, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var scopes string
	err := d.db.GetContext(ctx, &scopes, d.db.Rebind(`SELECT scopes FROM consents WHERE user_id = ? AND client_id = ?`), userID, clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, d.wrap(err)
	}
	return strings.Fields(scopes), nil
}

// GrantConsent adds scopes to the user's consent for the client, in one
// transaction so that concurrent grants keep each other's scopes.
func (d *DB) GrantConsent(ctx context.Context, userID, clientID string, scopes []string, at time.Time) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var have string
		lock := ""
		if d.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		err := tx.GetContext(ctx, &have, tx.Rebind(`SELECT scopes FROM consents WHERE user_id = ? AND client_id = ?`+lock), userID, clientID)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO consents (user_id, client_id, scopes, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes || ' ' || consents.scopes, updated_at = excluded.updated_at`),
				userID, clientID, strings.Join(scopes, " "), ms(at))
			return err
		}
		if err != nil {
			return err
		}
		merged := strings.Fields(have)
		for _, sc := range scopes {
			if !slices.Contains(merged, sc) {
				merged = append(merged, sc)
			}
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE consents SET scopes = ?, updated_at = ? WHERE user_id = ? AND client_id = ?`),
			strings.Join(merged, " "), ms(at), userID, clientID)
		return err
	})
}

// Consents lists the user's consents with their clients' names.
func (d *DB) Consents(ctx context.Context, userID string) ([]oidc.Consent, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []struct {
		ClientID   string `db:"client_id"`
		ClientName string `db:"name"`
		Scopes     string `db:"scopes"`
		UpdatedAt  int64  `db:"updated_at"`
	}
	err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT c.client_id, k.name, c.scopes, c.updated_at
		FROM consents c JOIN clients k ON k.id = c.client_id WHERE c.user_id = ? ORDER BY c.updated_at DESC, c.client_id`), userID)
	if err != nil {
		return nil, d.wrap(err)
	}
	out := make([]oidc.Consent, len(rows))
	for i, r := range rows {
		out[i] = oidc.Consent{ClientID: r.ClientID, ClientName: r.ClientName, Scopes: strings.Fields(r.Scopes), UpdatedAt: fromMS(r.UpdatedAt)}
	}
	return out, nil
}

// DeleteConsent forgets a consent.
func (d *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM consents WHERE user_id = ? AND client_id = ?`), userID, clientID)
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

// DB keeps the OpenID Connect flow's records.
var _ oidc.Store = (*DB)(nil)
var _ mfa.Store = (*DB)(nil)
var _ account.Store = (*DB)(nil)

// endSessionTokens revokes the refresh tokens issued through the browser
// session id, in tx, and returns the families whose access tokens are to
// be denied: those it revoked and those of the code-flow access tokens
// issued in the session.
func endSessionTokens(ctx context.Context, tx *sqlx.Tx, id string, at time.Time) ([]string, error) {
	var families []string
	if err := tx.SelectContext(ctx, &families, tx.Rebind(`SELECT DISTINCT family_id FROM refresh_tokens
		WHERE session_id = ? AND revoked_at IS NULL AND expires_at > ?`), id, ms(at)); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL`), ms(at), id); err != nil {
		return nil, err
	}
	codes, err := codeFamiliesOfSession(ctx, tx, id, at)
	return mergeFamilies(families, codes), err
}
