package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
)

// UserFactors summarises the user's confirmed second factors.
func (d *DB) UserFactors(ctx context.Context, userID string) (mfa.Factors, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var row struct {
		TOTP     int `db:"totp"`
		Codes    int `db:"codes"`
		WebAuthn int `db:"webauthn"`
	}
	err := d.db.GetContext(ctx, &row, d.db.Rebind(`SELECT
		(SELECT COUNT(*) FROM mfa_totp WHERE user_id = ? AND confirmed_at > 0) AS totp,
		(SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at = 0) AS codes,
		(SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?) AS webauthn`), userID, userID, userID)
	if err != nil {
		return mfa.Factors{}, d.wrap(err)
	}
	return mfa.Factors{TOTP: row.TOTP > 0, RecoveryCodes: row.Codes, WebAuthn: row.WebAuthn}, nil
}

type totpRow struct {
	UserID       string `db:"user_id"`
	SealedSecret string `db:"sealed_secret"`
	ConfirmedAt  int64  `db:"confirmed_at"`
	LastStep     int64  `db:"last_step"`
	CreatedAt    int64  `db:"created_at"`
}

// TOTPByUser returns the user's TOTP authenticator or authority.ErrNotFound.
func (d *DB) TOTPByUser(ctx context.Context, userID string) (mfa.TOTP, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r totpRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT user_id, sealed_secret, confirmed_at, last_step, created_at FROM mfa_totp WHERE user_id = ?`), userID)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.TOTP{}, authority.ErrNotFound
	}
	if err != nil {
		return mfa.TOTP{}, d.wrap(err)
	}
	return mfa.TOTP{UserID: r.UserID, SealedSecret: r.SealedSecret, ConfirmedAt: fromMS(r.ConfirmedAt),
		LastStep: r.LastStep, CreatedAt: fromMS(r.CreatedAt)}, nil
}

// PutPendingTOTP stores a pending enrolment, replacing a pending one; it
// returns authority.ErrConflict when a confirmed authenticator exists.
func (d *DB) PutPendingTOTP(ctx context.Context, t mfa.TOTP) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO mfa_totp (user_id, sealed_secret, confirmed_at, last_step, created_at) VALUES (?, ?, 0, 0, ?)
			ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, created_at = excluded.created_at, last_step = 0
			WHERE mfa_totp.confirmed_at = 0`), t.UserID, t.SealedSecret, ms(t.CreatedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return authority.ErrConflict
		}
		return nil
	})
}

// ConfirmTOTP confirms the pending enrolment and replaces the recovery
// codes in one transaction.
func (d *DB) ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time, codeHashes []string) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at = 0`),
			ms(at), step, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return authority.ErrConflict
		}
		return replaceCodes(ctx, tx, userID, codeHashes, at)
	})
}

func replaceCodes(ctx context.Context, tx *sqlx.Tx, userID string, codeHashes []string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mfa_recovery_codes WHERE user_id = ?`), userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO mfa_recovery_codes (code_hash, user_id, used_at, created_at) VALUES (?, ?, 0, ?)`),
			h, userID, ms(at)); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep records step as the last accepted one if it is later than
// the stored one; authority.ErrConflict otherwise.
func (d *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND confirmed_at > 0 AND last_step < ?`), step, userID, step)
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrConflict
	}
	return nil
}

// ReplaceRecoveryCodes drops the user's recovery codes and stores new ones.
func (d *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return replaceCodes(ctx, tx, userID, codeHashes, at)
	})
}

// UseRecoveryCode spends an unused recovery code; authority.ErrNotFound if
// the user has no such unused code.
func (d *DB) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE mfa_recovery_codes SET used_at = ? WHERE code_hash = ? AND user_id = ? AND used_at = 0`), ms(at), hash, userID)
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrNotFound
	}
	return nil
}

// DeleteFactors removes every second factor of the user: the TOTP
// authenticator, the recovery codes and the WebAuthn credentials.
func (d *DB) DeleteFactors(ctx context.Context, userID string) (bool, error) {
	return d.deleteFactorTables(ctx, userID, "mfa_totp", "mfa_recovery_codes", "webauthn_credentials")
}

// DeleteTOTP removes the user's TOTP authenticator and recovery codes.
func (d *DB) DeleteTOTP(ctx context.Context, userID string) (bool, error) {
	return d.deleteFactorTables(ctx, userID, "mfa_totp", "mfa_recovery_codes")
}

func (d *DB) deleteFactorTables(ctx context.Context, userID string, tables ...string) (bool, error) {
	var removed bool
	err := d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		for _, t := range tables {
			res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+t+` WHERE user_id = ?`), userID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				removed = true
			}
		}
		return nil
	})
	return removed, err
}

// CreateMFAToken stores a second-factor login or enrolment token (its
// hash) and drops tokens that expired a day before it was made.
func (d *DB) CreateMFAToken(ctx context.Context, t mfa.Token) error {
	return d.inTx(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mfa_tokens WHERE expires_at < ?`), ms(t.CreatedAt.Add(-24*time.Hour))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO mfa_tokens (token_hash, user_id, purpose, amr, failures, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, 0, ?, ?, 0)`),
			t.Hash, t.UserID, t.Purpose, strings.Join(t.AMR, " "), ms(t.CreatedAt), ms(t.ExpiresAt))
		return err
	})
}

// MFATokenByHash returns the token or authority.ErrNotFound.
func (d *DB) MFATokenByHash(ctx context.Context, hash string) (mfa.Token, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var r struct {
		Hash      string `db:"token_hash"`
		UserID    string `db:"user_id"`
		Purpose   string `db:"purpose"`
		AMR       string `db:"amr"`
		Failures  int    `db:"failures"`
		CreatedAt int64  `db:"created_at"`
		ExpiresAt int64  `db:"expires_at"`
		UsedAt    int64  `db:"used_at"`
	}
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT token_hash, user_id, purpose, amr, failures, created_at, expires_at, used_at FROM mfa_tokens WHERE token_hash = ?`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.Token{}, authority.ErrNotFound
	}
	if err != nil {
		return mfa.Token{}, d.wrap(err)
	}
	return mfa.Token{Hash: r.Hash, UserID: r.UserID, Purpose: r.Purpose, AMR: strings.Fields(r.AMR), Failures: r.Failures,
		CreatedAt: fromMS(r.CreatedAt), ExpiresAt: fromMS(r.ExpiresAt), UsedAt: fromMS(r.UsedAt)}, nil
}

// FailMFAToken counts one wrong code against the token and returns the
// new count.
func (d *DB) FailMFAToken(ctx context.Context, hash string) (int, error) {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	var n int
	err := d.w.GetContext(ctx, &n, d.w.Rebind(`UPDATE mfa_tokens SET failures = failures + 1 WHERE token_hash = ? RETURNING failures`), hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, authority.ErrNotFound
	}
	return n, d.wrap(err)
}

// SpendMFAToken marks a live token used; authority.ErrConflict if it is
// spent, exhausted or expired.
func (d *DB) SpendMFAToken(ctx context.Context, hash string, maxFailures int, at time.Time) error {
	ctx, cancel := d.timeout(ctx)
	defer cancel()
	res, err := d.w.ExecContext(ctx, d.w.Rebind(`UPDATE mfa_tokens SET used_at = ? WHERE token_hash = ? AND used_at = 0 AND failures < ? AND expires_at > ?`),
		ms(at), hash, maxFailures, ms(at))
	if err != nil {
		return d.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return authority.ErrConflict
	}
	return nil
}
