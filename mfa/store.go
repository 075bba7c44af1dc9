package mfa

import (
	"context"
	"time"
)

// TOTP is a user's time-based one-time password authenticator as stored:
// the secret only sealed.
type TOTP struct {
	UserID       string
	SealedSecret string
	// ConfirmedAt is zero while the enrolment waits for its first code.
	ConfirmedAt time.Time
	// LastStep is the last 30-second step whose code was accepted.
	LastStep  int64
	CreatedAt time.Time
}

// Token is the record of a token handed out by a login that still needs
// a second factor, or an enrolment of one: only its SHA-256 is kept.
type Token struct {
	Hash    string
	UserID  string
	Purpose string // PurposeLogin or PurposeEnroll
	// AMR is how the user authenticated so far (e.g. "pwd").
	AMR       []string
	Failures  int
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Purposes of an Token.
const (
	PurposeLogin  = "login"
	PurposeEnroll = "enroll"
)

// Factors summarises the second factors a user has.
type Factors struct {
	// TOTP is set when a confirmed TOTP authenticator exists.
	TOTP bool
	// RecoveryCodes counts the unused recovery codes.
	RecoveryCodes int
	// WebAuthn counts the registered passkeys and security keys.
	WebAuthn int
}

// Any reports whether the user has a second factor to sign in with.
func (f Factors) Any() bool { return f.TOTP || f.WebAuthn > 0 }

// FactorStore keeps second factors and the tokens of logins in progress.
type FactorStore interface {
	// UserFactors summarises the confirmed factors of a user.
	UserFactors(ctx context.Context, userID string) (Factors, error)
	// TOTPByUser returns the user's authenticator, pending or confirmed;
	// authority.ErrNotFound for none.
	TOTPByUser(ctx context.Context, userID string) (TOTP, error)
	// PutPendingTOTP stores t as the user's pending enrolment, replacing a
	// pending one; authority.ErrConflict if a confirmed one exists.
	PutPendingTOTP(ctx context.Context, t TOTP) error
	// ConfirmTOTP confirms the pending enrolment with the step of its
	// first code and replaces the user's recovery codes by codeHashes, in
	// one transaction; authority.ErrConflict if no pending enrolment remains.
	ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time, codeHashes []string) error
	// UseTOTPStep records step as accepted if it is later than the last
	// accepted one; authority.ErrConflict otherwise (a replay).
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// ReplaceRecoveryCodes drops the user's recovery codes and stores
	// codeHashes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error
	// UseRecoveryCode spends the unused code with hash; authority.ErrNotFound if
	// there is none.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error
	// DeleteFactors removes every second factor of the user (TOTP,
	// recovery codes, WebAuthn credentials), and reports whether there
	// was anything to remove.
	DeleteFactors(ctx context.Context, userID string) (bool, error)
	// DeleteTOTP removes the user's TOTP authenticator and recovery
	// codes, and reports whether there was anything to remove.
	DeleteTOTP(ctx context.Context, userID string) (bool, error)

	// CreateMFAToken stores a new token.
	CreateMFAToken(ctx context.Context, t Token) error
	// MFATokenByHash returns authority.ErrNotFound for no such token.
	MFATokenByHash(ctx context.Context, hash string) (Token, error)
	// FailMFAToken counts a wrong code against a token and returns the
	// new count.
	FailMFAToken(ctx context.Context, hash string) (int, error)
	// SpendMFAToken marks the token used if it is unused, has fewer than
	// maxFailures failures and is unexpired at at; authority.ErrConflict otherwise.
	SpendMFAToken(ctx context.Context, hash string, maxFailures int, at time.Time) error
}
