package authority

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Second-factor settings. TOTP follows RFC 6238 as authenticator apps
// expect it: 30-second steps, 6 digits, HMAC-SHA-1, and one step of clock
// skew either way.
const (
	TOTPPeriod = 30
	totpSkew   = 1
	// MFATokenTTL is how long a login may wait for its second factor.
	MFATokenTTL = 5 * time.Minute
	// MFAEnrollTokenTTL is how long a user forced to enrol may take.
	MFAEnrollTokenTTL = 15 * time.Minute
	// MFATokenMaxFailures is the wrong code that spends an mfaToken: it
	// survives four wrong codes and the fifth ends it.
	MFATokenMaxFailures = 5
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
	// ErrInvalidMFAToken is an unknown, expired, spent or exhausted mfaToken.
	ErrInvalidMFAToken = errors.New("invalid mfa token")
	// ErrTOTPEnrolled refuses a second TOTP enrolment.
	ErrTOTPEnrolled = errors.New("a TOTP authenticator is already enrolled")
	// ErrNoTOTP means the user has no (pending or confirmed) TOTP enrolment
	// for the operation.
	ErrNoTOTP = errors.New("no TOTP authenticator")
	// ErrMFAUnavailable means no key-encryption key was configured to seal
	// second-factor secrets with.
	ErrMFAUnavailable = errors.New("second factors are not configured")
)

// MFARequiredError answers a correct password of a user who has a second
// factor: the login goes on with Token and one of Methods.
type MFARequiredError struct {
	Token   string
	Methods []string
}

func (e *MFARequiredError) Error() string { return "a second factor is required" }

// MFAEnrollmentRequiredError answers a correct password of a user whose
// roles require a second factor and who has none: Token lets them enrol.
type MFAEnrollmentRequiredError struct {
	Token string
}

func (e *MFAEnrollmentRequiredError) Error() string {
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
func (s *Service) EnrollTOTP(ctx context.Context, userID, password string, meta Meta) (TOTPEnrolment, error) {
	if s.cfg.Sealer == nil { // before the password: no attempt spent for nothing
		return TOTPEnrolment{}, ErrMFAUnavailable
	}
	u, err := s.checkFactorPassword(ctx, userID, password, "enrol an authenticator app", meta)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.enrollTOTP(ctx, u, meta)
}

// enrollTOTP starts the enrolment of u, whose password was checked.
func (s *Service) enrollTOTP(ctx context.Context, u User, meta Meta) (TOTPEnrolment, error) {
	if s.cfg.Sealer == nil {
		return TOTPEnrolment{}, ErrMFAUnavailable
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
	now := s.now().UTC()
	err = s.store.PutPendingTOTP(ctx, TOTP{UserID: u.ID, SealedSecret: sealed, CreatedAt: now})
	if errors.Is(err, ErrConflict) {
		return TOTPEnrolment{}, ErrTOTPEnrolled
	}
	if err != nil {
		return TOTPEnrolment{}, err
	}
	s.audit(ctx, Event{Type: EventMFATOTPEnroll, Actor: actorOr(meta, u.ID), UserID: u.ID, IP: meta.IP, Detail: "TOTP enrolment started"})
	return TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ConfirmTOTP completes a pending enrolment with a code from the
// authenticator and returns the user's new recovery codes, shown this
// once and stored only hashed.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string, meta Meta) ([]string, error) {
	t, err := s.store.TOTPByUser(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && !t.ConfirmedAt.IsZero()) {
		return nil, ErrNoTOTP
	}
	if err != nil {
		return nil, err
	}
	if !isTOTPShape(normalizeTOTP(code)) {
		return nil, invalid("code", "must be the 6 digits the authenticator shows")
	}
	a, err := s.reserveAttempt(ctx, mfaThrottleKey(userID), meta)
	if err != nil {
		return nil, err
	}
	defer s.abandon(ctx, a)
	secret, err := s.openTOTP(t)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(secret, normalizeTOTP(code), s.now(), 0)
	if !ok {
		return nil, s.codeFailed(ctx, a, userID, meta, "TOTP enrolment confirmation with a wrong code")
	}
	codes, hashes := newRecoveryCodes(userID)
	if err := s.store.ConfirmTOTP(ctx, userID, step, s.now().UTC(), hashes); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrNoTOTP
		}
		return nil, err
	}
	s.codeSucceeded(ctx, a, userID)
	s.audit(ctx, Event{Type: EventMFATOTPConfirm, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: "TOTP authenticator enrolled; recovery codes issued"})
	s.notifyFactor(ctx, userID, MailFactorAdded, factorTOTP)
	return codes, nil
}

// RemoveTOTP removes the user's TOTP authenticator and recovery codes
// after checking a current code (TOTP or recovery code).
func (s *Service) RemoveTOTP(ctx context.Context, userID, code string, meta Meta) error {
	if _, err := s.VerifySecondFactor(ctx, userID, code, meta); err != nil {
		return err
	}
	if _, err := s.store.DeleteTOTP(ctx, userID); err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventMFATOTPRemove, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: "TOTP authenticator and recovery codes removed"})
	s.notifyFactor(ctx, userID, MailFactorRemoved, factorTOTPRemoved)
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes after
// checking a current code, and returns the new ones.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID, code string, meta Meta) ([]string, error) {
	if _, err := s.VerifySecondFactor(ctx, userID, code, meta); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes(userID)
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes, s.now().UTC()); err != nil {
		return nil, err
	}
	s.audit(ctx, Event{Type: EventMFARecoveryRegenerate, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: "recovery codes replaced"})
	s.notifyFactor(ctx, userID, MailFactorAdded, factorRecoveryCodes)
	return codes, nil
}

// ResetFactors removes every second factor of a user, for an
// administrator helping someone who lost theirs.
func (s *Service) ResetFactors(ctx context.Context, userID string, meta Meta) error {
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
	s.audit(ctx, Event{Type: EventMFAReset, Actor: meta.Actor, UserID: userID, IP: meta.IP, Detail: detail})
	if removed {
		// The user learns of it, so a reset they did not ask for does
		// not go unnoticed.
		if err := s.mailer.Queue(ctx, Mail{Kind: "mfa-reset", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
			s.log.Warn("second-factor reset notice not queued", "user_id", u.ID, "err", err)
		}
	}
	return nil
}

// Factors returns the user's second factors.
func (s *Service) Factors(ctx context.Context, userID string) (Factors, error) {
	return s.store.UserFactors(ctx, userID)
}

// VerifySecondFactor checks code as the user's current TOTP code (each
// accepted once) or one of their unused recovery codes (spent by this
// call), under the per-account throttle. It returns the method that
// matched; a wrong code is ErrInvalidCode, audited and counted.
func (s *Service) VerifySecondFactor(ctx context.Context, userID, code string, meta Meta) (string, error) {
	if err := checkCodeShape(code); err != nil {
		return "", err
	}
	a, err := s.reserveAttempt(ctx, mfaThrottleKey(userID), meta)
	if err != nil {
		return "", err
	}
	defer s.abandon(ctx, a)
	method, err := s.matchSecondFactor(ctx, userID, code)
	if errors.Is(err, ErrInvalidCode) {
		return "", s.codeFailed(ctx, a, userID, meta, "wrong or reused second-factor code")
	}
	if err != nil {
		return "", err
	}
	s.codeSucceeded(ctx, a, userID)
	return method, nil
}

func (s *Service) matchSecondFactor(ctx context.Context, userID, code string) (string, error) {
	if c := normalizeTOTP(code); isTOTPShape(c) {
		t, err := s.store.TOTPByUser(ctx, userID)
		if errors.Is(err, ErrNotFound) || (err == nil && t.ConfirmedAt.IsZero()) {
			return "", ErrInvalidCode
		}
		if err != nil {
			return "", err
		}
		secret, err := s.openTOTP(t)
		if err != nil {
			return "", err
		}
		step, ok := matchTOTP(secret, c, s.now(), t.LastStep)
		if !ok {
			return "", ErrInvalidCode
		}
		if err := s.store.UseTOTPStep(ctx, userID, step); err != nil {
			if errors.Is(err, ErrConflict) {
				return "", ErrInvalidCode // a concurrent use of the same code won
			}
			return "", err
		}
		return MethodTOTP, nil
	}
	norm := normalizeRecoveryCode(code)
	if len(norm) != recoveryCodeChars {
		return "", ErrInvalidCode
	}
	err := s.store.UseRecoveryCode(ctx, userID, recoveryCodeHash(userID, norm), s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return "", ErrInvalidCode
	}
	if err != nil {
		return "", err
	}
	return MethodRecoveryCode, nil
}

func (s *Service) openTOTP(t TOTP) (string, error) {
	if s.cfg.Sealer == nil {
		return "", ErrMFAUnavailable
	}
	b, err := s.cfg.Sealer.Open(totpSealID(t.UserID), t.SealedSecret)
	if err != nil {
		return "", fmt.Errorf("open TOTP secret of user %s: %w", t.UserID, err)
	}
	defer clear(b)
	return string(b), nil
}

// mfaThrottleKey is the throttle row of a user's second-factor attempts.
// It cannot collide with an email: a normalised email has no ':' before
// its '@'.
func mfaThrottleKey(userID string) string { return "mfa:" + userID }

// codeFailed audits and counts a wrong code; it returns ErrInvalidCode.
func (s *Service) codeFailed(ctx context.Context, a *attempt, userID string, meta Meta, detail string) error {
	s.audit(ctx, Event{Type: EventMFAFailure, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: detail})
	t, err := s.settle(ctx, a, AttemptFailed)
	if err != nil {
		return err
	}
	if !t.LockedUntil.IsZero() {
		s.audit(ctx, Event{Type: EventAccountLocked, UserID: userID, IP: meta.IP,
			Detail: fmt.Sprintf("%d wrong second-factor codes in a row; locked for %s", t.Failures, t.LockedUntil.Sub(s.now()))})
	}
	return ErrInvalidCode
}

// codeSucceeded settles a right code's attempt, resetting the count.
func (s *Service) codeSucceeded(ctx context.Context, a *attempt, userID string) {
	if _, err := s.settle(ctx, a, AttemptSucceeded); err != nil {
		s.log.Warn("second-factor throttle not reset", "user_id", userID, "err", err)
	}
}

func actorOr(meta Meta, userID string) string {
	if meta.Actor != "" {
		return meta.Actor
	}
	return userID
}

// issuerLabel names Sigil in authenticator apps: the issuer's host.
func (s *Service) issuerLabel() string {
	if u, err := url.Parse(s.cfg.Issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return "Sigil"
}

func isTOTPShape(c string) bool { return len(c) == 6 && strings.Trim(c, "0123456789") == "" }

// checkCodeShape refuses, without counting a failure, what can be neither
// a TOTP code nor a recovery code.
func checkCodeShape(code string) error {
	if len(code) > 64 {
		return invalid("code", "must be 6 digits or a recovery code")
	}
	if c := normalizeTOTP(code); isTOTPShape(c) || len(normalizeRecoveryCode(c)) == recoveryCodeChars {
		return nil
	}
	return invalid("code", "must be 6 digits or a recovery code")
}

func normalizeTOTP(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(code))
}

// Recovery codes carry 80 random bits as 16 base32 characters, shown in
// groups of four; dashes, spaces and case are ignored when one is typed.
const recoveryCodeChars = 16

var recoveryAlphabet = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRecoveryCodes(userID string) (codes, hashes []string) {
	for range RecoveryCodeCount {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		raw := recoveryAlphabet.EncodeToString(b)
		codes = append(codes, raw[0:4]+"-"+raw[4:8]+"-"+raw[8:12]+"-"+raw[12:16])
		hashes = append(hashes, recoveryCodeHash(userID, raw))
	}
	return codes, hashes
}

func normalizeRecoveryCode(code string) string {
	return strings.ToUpper(normalizeTOTP(code))
}

// recoveryCodeHash binds a code to its user, so equal codes of two users
// never share a row.
func recoveryCodeHash(userID, norm string) string { return HashToken(userID + "\x00" + norm) }

// mfaRequiredFor reports whether the user's roles demand a second factor.
func (s *Service) mfaRequiredFor(u User) bool {
	for _, r := range u.Roles() {
		if slices.Contains(s.cfg.MFARequiredRoles, r) {
			return true
		}
	}
	return false
}
