package mfa

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigil-auth/sigil/authority"
)

// Second-factor settings. TOTP follows RFC 6238 as authenticator apps
// expect it: 30-second steps, 6 digits, HMAC-SHA-1, and one step of clock
// skew either way.
const (
	TOTPPeriod = 30
	totpSkew   = 1
	// TokenTTL is how long a login may wait for its second factor.
	TokenTTL = 5 * time.Minute
	// EnrollTokenTTL is how long a user forced to enrol may take.
	EnrollTokenTTL = 15 * time.Minute
	// TokenMaxFailures is the wrong code that spends an mfaToken: it
	// survives four wrong codes and the fifth ends it.
	TokenMaxFailures = 5
	// RecoveryCodeCount is how many recovery codes an enrolment hands out.
	RecoveryCodeCount = 10
)

// Methods named in an mfa-required answer.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
)

// Errors of second factors.
var (
	// ErrInvalidCode is a wrong, expired or already used second-factor code.
	ErrInvalidCode = errors.New("invalid second-factor code")
	// ErrInvalidToken is an unknown, expired, spent or exhausted mfaToken.
	ErrInvalidToken = errors.New("invalid mfa token")
	// ErrTOTPEnrolled refuses a second TOTP enrolment.
	ErrTOTPEnrolled = errors.New("a TOTP authenticator is already enrolled")
	// ErrNoTOTP means the user has no (pending or confirmed) TOTP enrolment
	// for the operation.
	ErrNoTOTP = errors.New("no TOTP authenticator")
	// ErrUnavailable means no key-encryption key was configured to seal
	// second-factor secrets with.
	ErrUnavailable = errors.New("second factors are not configured")
)

// RequiredError answers a correct password of a user who has a second
// factor: the login goes on with Token and one of Methods.
type RequiredError struct {
	Token   string
	Methods []string
}

func (e *RequiredError) Error() string { return "a second factor is required" }

// EnrollmentRequiredError answers a correct password of a user whose
// roles require a second factor and who has none: Token lets them enrol.
type EnrollmentRequiredError struct {
	Token string
}

func (e *EnrollmentRequiredError) Error() string {
	return "a second factor must be enrolled before signing in"
}

// TOTPEnrolment is a pending TOTP enrolment: the secret in base32 and the
// otpauth:// URI an authenticator app reads from a QR code.
type TOTPEnrolment struct {
	Secret string
	URI    string
}

func totpSealID(userID string) string { return "mfa-totp:" + userID }

var totpOpts = totp.ValidateOpts{Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPCode returns the code of secret at t, as an authenticator app shows
// it.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// matchTOTP returns the step (within the skew around now, and after
// lastStep) whose code is code.
func matchTOTP(secret, code string, now time.Time, lastStep int64) (int64, bool) {
	cur := now.Unix() / TOTPPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		if step <= lastStep {
			continue
		}
		want, err := TOTPCode(secret, time.Unix(step*TOTPPeriod, 0))
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// EnrollTOTP starts (or restarts) a TOTP enrolment for the user after
// checking the user's password: a fresh secret, sealed at rest, which
// counts only once ConfirmTOTP sees a code from it. The password keeps
// whoever holds a session or an access token alone from adding a second
// factor (which would then keep the user out, or sign in as them).
func (s *Service) EnrollTOTP(ctx context.Context, userID string, re authority.Reauth, meta authority.Meta) (TOTPEnrolment, error) {
	if s.cfg.Sealer == nil { // before the password: no attempt spent for nothing
		return TOTPEnrolment{}, ErrUnavailable
	}
	u, err := s.checkFactorPassword(ctx, userID, re, "enrol an authenticator app", meta)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.enrollTOTP(ctx, u, meta)
}

// enrollTOTP starts the enrolment of u, whose password was checked.
func (s *Service) enrollTOTP(ctx context.Context, u authority.User, meta authority.Meta) (TOTPEnrolment, error) {
	if s.cfg.Sealer == nil {
		return TOTPEnrolment{}, ErrUnavailable
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.issuerLabel(), AccountName: u.Email, Period: TOTPPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("generate TOTP secret: %w", err)
	}
	sealed, err := s.cfg.Sealer.Seal(totpSealID(u.ID), []byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, err
	}
	now := s.core.Now().UTC()
	err = s.store.PutPendingTOTP(ctx, TOTP{UserID: u.ID, SealedSecret: sealed, CreatedAt: now})
	if errors.Is(err, authority.ErrConflict) {
		return TOTPEnrolment{}, ErrTOTPEnrolled
	}
	if err != nil {
		return TOTPEnrolment{}, err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFATOTPEnroll, Actor: meta.ActorOr(u.ID), UserID: u.ID, IP: meta.IP, Detail: "TOTP enrolment started"})
	return TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ConfirmTOTP completes a pending enrolment with a code from the
// authenticator and returns the user's new recovery codes, shown this
// once and stored only hashed.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string, meta authority.Meta) ([]string, error) {
	t, err := s.store.TOTPByUser(ctx, userID)
	if errors.Is(err, authority.ErrNotFound) || (err == nil && !t.ConfirmedAt.IsZero()) {
		return nil, ErrNoTOTP
	}
	if err != nil {
		return nil, err
	}
	if !isTOTPShape(normalizeTOTP(code)) {
		return nil, invalid("code", "must be the 6 digits the authenticator shows")
	}
	a, err := s.core.ReserveAttempt(ctx, mfaThrottleKey(userID), meta)
	if err != nil {
		return nil, err
	}
	defer s.core.AbandonAttempt(ctx, a)
	secret, err := s.openTOTP(t)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(secret, normalizeTOTP(code), s.core.Now(), 0)
	if !ok {
		return nil, s.codeFailed(ctx, a, userID, meta, "TOTP enrolment confirmation with a wrong code")
	}
	codes, hashes := newRecoveryCodes(userID)
	if err := s.store.ConfirmTOTP(ctx, userID, step, s.core.Now().UTC(), hashes); err != nil {
		if errors.Is(err, authority.ErrConflict) {
			return nil, ErrNoTOTP
		}
		return nil, err
	}
	s.codeSucceeded(ctx, a, userID)
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFATOTPConfirm, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: "TOTP authenticator enrolled; recovery codes issued"})
	s.notifyFactor(ctx, userID, MailFactorAdded, factorTOTP)
	return codes, nil
}

// RemoveTOTP removes the user's TOTP authenticator and recovery codes
// after checking a current code (TOTP or recovery code).
func (s *Service) RemoveTOTP(ctx context.Context, userID, code string, meta authority.Meta) error {
	if _, err := s.VerifySecondFactor(ctx, userID, code, meta); err != nil {
		return err
	}
	if _, err := s.store.DeleteTOTP(ctx, userID); err != nil {
		return err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFATOTPRemove, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: "TOTP authenticator and recovery codes removed"})
	s.notifyFactor(ctx, userID, MailFactorRemoved, factorTOTPRemoved)
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes after
// checking a current code, and returns the new ones.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID, code string, meta authority.Meta) ([]string, error) {
	if _, err := s.VerifySecondFactor(ctx, userID, code, meta); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes(userID)
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.core.Now().UTC()); err != nil {
		return nil, err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFARecoveryRegenerate, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: "recovery codes replaced"})
	s.notifyFactor(ctx, userID, MailFactorAdded, factorRecoveryCodes)
	return codes, nil
}

// ResetFactors removes every second factor of a user, for an
// administrator helping someone who lost theirs.
func (s *Service) ResetFactors(ctx context.Context, userID string, meta authority.Meta) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	removed, err := s.store.DeleteFactors(ctx, userID)
	if err != nil {
		return err
	}
	detail := "second factors reset by an administrator"
	if !removed {
		detail = "second-factor reset by an administrator: the user had none"
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFAReset, Actor: meta.Actor, UserID: userID, IP: meta.IP, Detail: detail})
	if removed {
		// The user learns of it, so a reset they did not ask for does
		// not go unnoticed.
		if err := s.core.QueueMail(ctx, authority.Mail{Kind: "mfa-reset", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
			s.core.Log().Warn("second-factor reset notice not queued", "user_id", u.ID, "err", err)
		}
	}
	return nil
}

// issuerLabel names Sigil in authenticator apps: the issuer's host.
func (s *Service) issuerLabel() string {
	if u, err := url.Parse(s.cfg.Issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return "Sigil"
}
