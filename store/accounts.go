package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
)

type accountTokenRow struct {
	Hash      string        `db:"token_hash"`
	Kind      string        `db:"kind"`
	UserID    string        `db:"user_id"`
	Email     string        `db:"email"`
	CreatedAt int64         `db:"created_at"`
	ExpiresAt int64         `db:"expires_at"`
	UsedAt    sql.NullInt64 `db:"used_at"`
}

// CreateAccountToken stores a mailed token (its hash only).
func (d *DB) CreateAccountToken(ctx context.Context, t account.Token) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO account_tokens (token_hash, kind, user_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		t.Hash, t.Kind, t.UserID, t.Email, ms(t.CreatedAt), ms(t.ExpiresAt))
	return d.wrap(err)
}

// AccountTokenByHash returns a mailed token, or authority.ErrNotFound.
func (d *DB) AccountTokenByHash(ctx context.Context, hash string) (account.Token, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r accountTokenRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT token_hash, kind, user_id, email, created_at, expires_at, used_at FROM account_tokens WHERE token_hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return account.Token{}, authority.ErrNotFound
	}
	if err != nil {
		return account.Token{}, d.wrap(err)
	}
	return account.Token{Hash: r.Hash, Kind: r.Kind, UserID: r.UserID, Email: r.Email,
		CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt), UsedAt: fromNullMS(r.UsedAt)}, nil
}

// UseAccountToken spends a live token (compare-and-swap), or returns
// authority.ErrNotFound.
func (d *DB) UseAccountToken(ctx context.Context, hash string, at time.Time) error {
	return d.execOne(ctx, `UPDATE account_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, ms(at), hash, ms(at))
}

// CancelAccountTokens spends every live mailed token of the user (email
// verification, email change, password reset) and returns how many.
func (d *DB) CancelAccountTokens(ctx context.Context, userID string, at time.Time) (int, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL AND expires_at > ?`),
		ms(at), userID, ms(at))
	if err != nil {
		return 0, d.wrap(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// execOne runs an update that must change one row, else
// authority.ErrNotFound.
func (d *DB) execOne(ctx context.Context, query string, args ...any) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(query), args...)
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrNotFound
	}
	return nil
}

// SetEmailVerified marks the email verified if it is still the user's.
func (d *DB) SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error {
	return d.execOne(ctx, `UPDATE users SET email_verified = ?, updated_at = ? WHERE id = ? AND email = ?`, true, ms(at), userID, email)
}

// ChangeEmail sets a verified new email, or authority.ErrEmailTaken.
func (d *DB) ChangeEmail(ctx context.Context, userID, email string, at time.Time) error {
	err := d.execOne(ctx, `UPDATE users SET email = ?, email_verified = ?, updated_at = ? WHERE id = ?`, email, true, ms(at), userID)
	if err != nil && isUniqueViolation(err) {
		return authority.ErrEmailTaken
	}
	return err
}

// SetPasswordHash replaces the user's password hash.
func (d *DB) SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error {
	return d.execOne(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, ms(at), userID)
}

// SetLocked locks or unlocks an account.
func (d *DB) SetLocked(ctx context.Context, id string, locked bool, at time.Time) error {
	return d.execOne(ctx, `UPDATE users SET locked = ?, updated_at = ? WHERE id = ?`, locked, ms(at), id)
}

// SetRoles sets the admin flag and the other roles.
func (d *DB) SetRoles(ctx context.Context, id string, admin bool, extra []string, at time.Time) error {
	return d.execOne(ctx, `UPDATE users SET is_admin = ?, roles = ?, updated_at = ? WHERE id = ?`, admin, strings.Join(extra, " "), ms(at), id)
}

type sessionRow struct {
	FamilyID  string `db:"family_id"`
	ClientID  string `db:"client_id"`
	CreatedAt int64  `db:"created_at"`
	LastUsed  int64  `db:"last_used"`
	UserAgent string `db:"user_agent"`
	IP        string `db:"ip"`
}

// UserSessions returns the user's live sessions, most recently used
// first: browser sessions of the hosted pages, and refresh-token families
// that still have a live token.
func (d *DB) UserSessions(ctx context.Context, userID string, now time.Time) ([]account.Session, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []sessionRow
	err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT family_id, MIN(client_id) AS client_id, MIN(created_at) AS created_at,
		MAX(created_at) AS last_used, MAX(user_agent) AS user_agent, MAX(ip) AS ip
		FROM refresh_tokens WHERE user_id = ? GROUP BY family_id
		HAVING SUM(CASE WHEN revoked_at IS NULL AND spent_at IS NULL AND expires_at > ? THEN 1 ELSE 0 END) > 0`), userID, ms(now))
	if err != nil {
		return nil, d.wrap(err)
	}
	var browser []sessionRow
	err = d.db.SelectContext(ctx, &browser, d.db.Rebind(`SELECT id AS family_id, '' AS client_id, created_at, last_used_at AS last_used, user_agent, ip
		FROM browser_sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`), userID, ms(now))
	if err != nil {
		return nil, d.wrap(err)
	}
	out := make([]account.Session, 0, len(rows)+len(browser))
	for _, r := range browser {
		out = append(out, account.Session{ID: r.FamilyID, Kind: "browser", CreatedAt: fromMS(r.CreatedAt),
			LastUsedAt: fromMS(r.LastUsed), UserAgent: r.UserAgent, IP: r.IP})
	}
	for _, r := range rows {
		out = append(out, account.Session{ID: r.FamilyID, Kind: "refresh", ClientID: r.ClientID, CreatedAt: fromMS(r.CreatedAt),
			LastUsedAt: fromMS(r.LastUsed), UserAgent: r.UserAgent, IP: r.IP})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].LastUsedAt.Equal(out[j].LastUsedAt) {
			return out[i].LastUsedAt.After(out[j].LastUsedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RevokeUserSessions ends every session of the user but except (a browser
// session id or a refresh-token family id; the refresh tokens issued
// through an excepted browser session live on too) and returns the
// families whose access tokens are to be denied (the refresh-token
// families it revoked, and those of the access tokens that codes issued
// outside except and that may still live, refresh token or not) and how
// many sessions it ended.
func (d *DB) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) ([]string, int, error) {
	// Without an exception, nothing is spared.
	spare, spareArgs := "", []any{}
	if except != "" {
		spare, spareArgs = ` AND family_id <> ? AND COALESCE(session_id, '') <> ?`, []any{except, except}
	}
	var n int64
	var families []string
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		families = nil
		var live int64
		if err := tx.GetContext(ctx, &live, tx.Rebind(`SELECT COUNT(DISTINCT family_id) FROM refresh_tokens
			WHERE user_id = ? AND revoked_at IS NULL AND spent_at IS NULL`+spare), append([]any{userID}, spareArgs...)...); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &families, tx.Rebind(`SELECT DISTINCT family_id FROM refresh_tokens
			WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`+spare), append([]any{userID, ms(at)}, spareArgs...)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`+spare),
			append([]any{ms(at), userID}, spareArgs...)...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE browser_sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?`),
			ms(at), userID, except, ms(at))
		if err != nil {
			return err
		}
		browser, _ := res.RowsAffected()
		n = live + browser
		// Read after the sessions are marked ended: a code redeemed from
		// now on finds its session ended (or its user locked) and issues
		// nothing, and one redeemed before is seen here.
		codeSpare := ""
		if except != "" {
			codeSpare = ` AND family_id <> ? AND session_id <> ?`
		}
		var codes []string
		if err := tx.SelectContext(ctx, &codes, tx.Rebind(`SELECT DISTINCT family_id FROM authorization_codes
			WHERE user_id = ? AND used_at IS NOT NULL AND access_exp > ? AND family_id <> ''`+codeSpare),
			append([]any{userID, ms(at)}, spareArgs...)...); err != nil {
			return err
		}
		families = mergeFamilies(families, codes)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return families, int(n), nil
}

// codeFamiliesOfSession returns the families of the access tokens that
// codes issued in the browser session id and that may still live: each
// code-flow access token carries its family as sid, with or without a
// refresh token.
func codeFamiliesOfSession(ctx context.Context, tx *sqlx.Tx, id string, at time.Time) ([]string, error) {
	var out []string
	err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT DISTINCT family_id FROM authorization_codes
		WHERE session_id = ? AND used_at IS NOT NULL AND access_exp > ? AND family_id <> ''`), id, ms(at))
	return out, err
}

// mergeFamilies appends to a the families of b it lacks.
func mergeFamilies(a, b []string) []string {
	for _, f := range b {
		if !slices.Contains(a, f) {
			a = append(a, f)
		}
	}
	return a
}

// RevokeUserSession ends one session of the user: a browser session (with
// the refresh tokens and the code-flow access tokens issued through it)
// or a refresh-token family. It returns the families whose access tokens
// are to be denied, or
// authority.ErrNotFound if the user has no such live session.
func (d *DB) RevokeUserSession(ctx context.Context, userID, id string, at time.Time) ([]string, error) {
	var families []string
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		families = nil
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE browser_sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`), ms(at), id, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			families, err = endSessionTokens(ctx, tx, id, at)
			return err
		}
		families = []string{id}
		if err := d.lockFamily(ctx, tx, id); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND family_id = ? AND revoked_at IS NULL`),
			ms(at), userID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return authority.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return families, nil
}

// DeleteUser removes the account and every row about it, in one
// transaction.
func (d *DB) DeleteUser(ctx context.Context, id string) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var email string
		err := tx.GetContext(ctx, &email, tx.Rebind(`SELECT email FROM users WHERE id = ?`), id)
		if errors.Is(err, sql.ErrNoRows) {
			return authority.ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM refresh_tokens WHERE user_id = ?`,
			`DELETE FROM account_tokens WHERE user_id = ?`,
			`DELETE FROM browser_sessions WHERE user_id = ?`,
			`DELETE FROM authorization_codes WHERE user_id = ?`,
			`DELETE FROM device_authorizations WHERE user_id = ?`,
			`DELETE FROM consents WHERE user_id = ?`,
			// A message being sent goes too: its body names the user. The
			// sender then finds no row to mark (mail.Sender.deliver).
			`DELETE FROM mail_outbox WHERE user_id = ?`,
			`DELETE FROM users WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM login_throttle WHERE email = ?`), email)
		return err
	})
}

// ListUsers returns up to limit users by email after cursor, whose email
// contains query when it is not empty.
func (d *DB) ListUsers(ctx context.Context, query, cursor string, limit int) (authority.UserPage, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	q := `SELECT ` + userColumns + ` FROM users WHERE email > ?`
	args := []any{cursor}
	if query != "" {
		q += ` AND email LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape(query)+"%")
	}
	q += ` ORDER BY email LIMIT ?`
	args = append(args, limit+1)
	var rows []userRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(q), args...); err != nil {
		return authority.UserPage{}, d.wrap(err)
	}
	var page authority.UserPage
	if len(rows) > limit {
		rows = rows[:limit]
		page.Next = rows[limit-1].Email
	}
	for _, r := range rows {
		page.Users = append(page.Users, r.user())
	}
	return page, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountUserRows returns the number of rows of one of Sigil's tables that
// are about a user, for operators' checks and tests.
func (d *DB) CountUserRows(ctx context.Context, table, userID string) (int, error) {
	col := "user_id"
	switch table {
	case "users":
		col = "id"
	case "refresh_tokens", "account_tokens", "mail_outbox", "audit_events", "browser_sessions", "authorization_codes", "consents":
	default:
		return 0, errors.New("unknown table " + table)
	}
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n int
	err := d.db.GetContext(ctx, &n, d.db.Rebind(`SELECT COUNT(*) FROM `+table+` WHERE `+col+` = ?`), userID)
	return n, d.wrap(err)
}
