package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/sigil-auth/sigil/authority"
)

type userRow struct {
	ID           string `db:"id"`
	Email        string `db:"email"`
	Name         string `db:"name"`
	PasswordHash string `db:"password_hash"`
	IsAdmin      bool   `db:"is_admin"`
	CreatedAt    int64  `db:"created_at"`
	UpdatedAt    int64  `db:"updated_at"`
	Verified     bool   `db:"email_verified"`
	Locked       bool   `db:"locked"`
	Roles        string `db:"roles"`
}

func (r userRow) user() authority.User {
	return authority.User{ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash, Admin: r.IsAdmin,
		EmailVerified: r.Verified, Locked: r.Locked, ExtraRoles: strings.Fields(r.Roles),
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
}

// userInsertColumns are written by CreateUser; userColumns are read.
const (
	userInsertColumns = `id, email, name, password_hash, is_admin, created_at, updated_at`
	userColumns       = userInsertColumns + `, email_verified, locked, roles`
)

// joinedUserColumns selects the users row of alias u, each column named
// "u.<column>", for a row struct that holds it in a userRow field tagged
// db:"u": the hot paths read a user with the record that names it, in
// one statement.
var joinedUserColumns = func() string {
	cols := strings.Split(userColumns, ", ")
	for i, c := range cols {
		cols[i] = `u.` + c + ` AS "u.` + c + `"`
	}
	return strings.Join(cols, ", ")
}()

// CreateUser inserts u, or returns authority.ErrEmailTaken.
func (d *DB) CreateUser(ctx context.Context, u authority.User) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO users (`+userInsertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Email, u.Name, u.PasswordHash, u.Admin, ms(u.CreatedAt), ms(u.UpdatedAt))
	if err != nil && isUniqueViolation(err) {
		return authority.ErrEmailTaken
	}
	return d.wrap(err)
}

func (d *DB) getUser(ctx context.Context, where string, arg any) (authority.User, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r userRow
	err := d.getHot(ctx, &r, `SELECT `+userColumns+` FROM users WHERE `+where+` = ?`, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return authority.User{}, authority.ErrNotFound
	}
	if err != nil {
		return authority.User{}, d.wrap(err)
	}
	return r.user(), nil
}

// UserByEmail returns the user with a normalised email.
func (d *DB) UserByEmail(ctx context.Context, email string) (authority.User, error) {
	return d.getUser(ctx, "email", email)
}

// UserByID returns the user with id.
func (d *DB) UserByID(ctx context.Context, id string) (authority.User, error) {
	return d.getUser(ctx, "id", id)
}

// ReplacePasswordHash sets a new hash if the stored one is still old
// (compare-and-swap), so a concurrent password change is never undone.
func (d *DB) ReplacePasswordHash(ctx context.Context, id, old, new string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`),
		new, ms(nowUTC()), id, old)
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrConflict
	}
	return nil
}

// AdminExists reports whether any administrator exists.
func (d *DB) AdminExists(ctx context.Context) (bool, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n int
	err := d.db.GetContext(ctx, &n, d.db.Rebind(`SELECT COUNT(*) FROM users WHERE is_admin = ?`), true)
	return n > 0, d.wrap(err)
}

// CountUsers returns the number of accounts.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n int
	err := d.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM users`)
	return n, d.wrap(err)
}

// CountRows returns the number of rows in one of Sigil's tables, for
// operators' checks and tests.
func (d *DB) CountRows(ctx context.Context, table string) (int, error) {
	switch table {
	case "users", "signing_keys", "refresh_tokens", "audit_events", "clients", "resources", "registration_tokens", "revoked_tokens", "login_throttle",
		"account_tokens", "mail_outbox",
		"mfa_totp", "mfa_recovery_codes", "mfa_tokens", "webauthn_credentials", "webauthn_ceremonies", "device_authorizations",
		"upstreams", "upstream_identities", "upstream_pending":
	default:
		return 0, errors.New("unknown table " + table)
	}
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n int
	err := d.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM `+table)
	return n, d.wrap(err)
}

// UserEmails returns the emails of the users among ids, by id, in one
// query; ids of no user are left out.
func (d *DB) UserEmails(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `SELECT id, email FROM users WHERE id IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`
	var rows []struct {
		ID    string `db:"id"`
		Email string `db:"email"`
	}
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(q), args...); err != nil {
		return nil, d.wrap(err)
	}
	for _, r := range rows {
		out[r.ID] = r.Email
	}
	return out, nil
}
