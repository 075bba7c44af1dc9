package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
)

var b64url = base64.RawURLEncoding

type webauthnRow struct {
	ID                string `db:"credential_id"`
	UserID            string `db:"user_id"`
	PublicKey         string `db:"public_key"`
	SignCount         int64  `db:"sign_count"`
	AAGUID            string `db:"aaguid"`
	Transports        string `db:"transports"`
	AttestationFormat string `db:"attestation_format"`
	Flags             int    `db:"flags"`
	Name              string `db:"name"`
	CreatedAt         int64  `db:"created_at"`
	LastUsedAt        int64  `db:"last_used_at"`
}

const webauthnCols = `credential_id, user_id, public_key, sign_count, aaguid, transports, attestation_format, flags, name, created_at, last_used_at`

func (r webauthnRow) credential() (mfa.WebAuthnCredential, error) {
	pk, err := b64url.DecodeString(r.PublicKey)
	if err != nil {
		return mfa.WebAuthnCredential{}, err
	}
	return mfa.WebAuthnCredential{ID: r.ID, UserID: r.UserID, PublicKey: pk, SignCount: uint32(r.SignCount),
		AAGUID: r.AAGUID, Transports: strings.Fields(r.Transports), AttestationFormat: r.AttestationFormat, Flags: byte(r.Flags),
		Name: r.Name, CreatedAt: fromMS(r.CreatedAt), LastUsedAt: fromMS(r.LastUsedAt)}, nil
}

// CreateWebAuthnCredential stores a credential; authority.ErrConflict when
// its id exists.
func (d *DB) CreateWebAuthnCredential(ctx context.Context, c mfa.WebAuthnCredential) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO webauthn_credentials (`+webauthnCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`),
		c.ID, c.UserID, b64url.EncodeToString(c.PublicKey), int64(c.SignCount), c.AAGUID, strings.Join(c.Transports, " "),
		c.AttestationFormat, int(c.Flags), c.Name, ms(c.CreatedAt))
	if err != nil && isUniqueViolation(err) {
		return authority.ErrConflict
	}
	return d.wrap(err)
}

// WebAuthnCredentials lists the user's credentials, oldest first.
func (d *DB) WebAuthnCredentials(ctx context.Context, userID string) ([]mfa.WebAuthnCredential, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var rows []webauthnRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT `+webauthnCols+` FROM webauthn_credentials WHERE user_id = ? ORDER BY created_at, credential_id`), userID); err != nil {
		return nil, d.wrap(err)
	}
	out := make([]mfa.WebAuthnCredential, 0, len(rows))
	for _, r := range rows {
		c, err := r.credential()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// WebAuthnCredentialByID returns the credential or authority.ErrNotFound.
func (d *DB) WebAuthnCredentialByID(ctx context.Context, id string) (mfa.WebAuthnCredential, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r webauthnRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT `+webauthnCols+` FROM webauthn_credentials WHERE credential_id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.WebAuthnCredential{}, authority.ErrNotFound
	}
	if err != nil {
		return mfa.WebAuthnCredential{}, d.wrap(err)
	}
	return r.credential()
}

// UseWebAuthnCredential moves the counter from oldCount to newCount;
// authority.ErrConflict when another use got there first.
func (d *DB) UseWebAuthnCredential(ctx context.Context, id string, oldCount, newCount uint32, flags byte, at time.Time) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE webauthn_credentials SET sign_count = ?, flags = ?, last_used_at = ? WHERE credential_id = ? AND sign_count = ?`),
		int64(newCount), int(flags), ms(at), id, int64(oldCount))
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrConflict
	}
	return nil
}

// RenameWebAuthnCredential renames the user's credential.
func (d *DB) RenameWebAuthnCredential(ctx context.Context, userID, id, name string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE webauthn_credentials SET name = ? WHERE credential_id = ? AND user_id = ?`), name, id, userID)
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrNotFound
	}
	return nil
}

// DeleteWebAuthnCredential removes the user's credential.
func (d *DB) DeleteWebAuthnCredential(ctx context.Context, userID, id string) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM webauthn_credentials WHERE credential_id = ? AND user_id = ?`), id, userID)
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrNotFound
	}
	return nil
}

// CreateWebAuthnCeremony stores a ceremony and drops those that expired.
func (d *DB) CreateWebAuthnCeremony(ctx context.Context, c mfa.WebAuthnCeremony) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	if _, err := d.w.ExecContext(ctx, d.w.Rebind(`DELETE FROM webauthn_ceremonies WHERE expires_at < ?`), ms(c.CreatedAt)); err != nil {
		return d.wrap(err)
	}
	_, err := d.w.ExecContext(ctx, d.w.Rebind(`INSERT INTO webauthn_ceremonies (ceremony_hash, user_id, purpose, session_data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		c.Hash, c.UserID, c.Purpose, string(c.SessionData), ms(c.CreatedAt), ms(c.ExpiresAt))
	return d.wrap(err)
}

// TakeWebAuthnCeremony deletes the ceremony and returns it; two requests
// finishing the same ceremony cannot both get it.
func (d *DB) TakeWebAuthnCeremony(ctx context.Context, hash string) (mfa.WebAuthnCeremony, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r struct {
		Hash        string `db:"ceremony_hash"`
		UserID      string `db:"user_id"`
		Purpose     string `db:"purpose"`
		SessionData string `db:"session_data"`
		CreatedAt   int64  `db:"created_at"`
		ExpiresAt   int64  `db:"expires_at"`
	}
	err := d.w.GetContext(ctx, &r, d.w.Rebind(`DELETE FROM webauthn_ceremonies WHERE ceremony_hash = ? RETURNING ceremony_hash, user_id, purpose, session_data, created_at, expires_at`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.WebAuthnCeremony{}, authority.ErrNotFound
	}
	if err != nil {
		return mfa.WebAuthnCeremony{}, d.wrap(err)
	}
	return mfa.WebAuthnCeremony{Hash: r.Hash, UserID: r.UserID, Purpose: r.Purpose, SessionData: []byte(r.SessionData),
		CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt)}, nil
}
