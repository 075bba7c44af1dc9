package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/sigil-auth/sigil/authority"
)

// Checking a second-factor code (a TOTP code or a recovery code) under
// the per-account throttle, and making recovery codes.

// Factors returns the user's second factors.
func (s *Service) Factors(ctx context.Context, userID string) (Factors, error) {
	return s.store.UserFactors(ctx, userID)
}

// VerifySecondFactor checks code as the user's current TOTP code (each
// accepted once) or one of their unused recovery codes (spent by this
// call), under the per-account throttle. It returns the method that
// matched; a wrong code is ErrInvalidCode, audited and counted.
func (s *Service) VerifySecondFactor(ctx context.Context, userID, code string, meta authority.Meta) (string, error) {
	if err := checkCodeShape(code); err != nil {
		return "", err
	}
	a, err := s.core.ReserveAttempt(ctx, mfaThrottleKey(userID), meta)
	if err != nil {
		return "", err
	}
	defer s.core.AbandonAttempt(ctx, a)
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
		if errors.Is(err, authority.ErrNotFound) || (err == nil && t.ConfirmedAt.IsZero()) {
			return "", ErrInvalidCode
		}
		if err != nil {
			return "", err
		}
		secret, err := s.openTOTP(t)
		if err != nil {
			return "", err
		}
		step, ok := matchTOTP(secret, c, s.core.Now(), t.LastStep)
		if !ok {
			return "", ErrInvalidCode
		}
		if err := s.store.UseTOTPStep(ctx, userID, step); err != nil {
			if errors.Is(err, authority.ErrConflict) {
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
	err := s.store.UseRecoveryCode(ctx, userID, recoveryCodeHash(userID, norm), s.core.Now().UTC())
	if errors.Is(err, authority.ErrNotFound) {
		return "", ErrInvalidCode
	}
	if err != nil {
		return "", err
	}
	return MethodRecoveryCode, nil
}

func (s *Service) openTOTP(t TOTP) (string, error) {
	if s.cfg.Sealer == nil {
		return "", ErrUnavailable
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
func (s *Service) codeFailed(ctx context.Context, a *authority.Attempt, userID string, meta authority.Meta, detail string) error {
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFAFailure, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: detail})
	t, err := s.core.SettleAttempt(ctx, a, authority.AttemptFailed)
	if err != nil {
		return err
	}
	if !t.LockedUntil.IsZero() {
		s.core.Audit(ctx, authority.Event{Type: authority.EventAccountLocked, UserID: userID, IP: meta.IP,
			Detail: fmt.Sprintf("%d wrong second-factor codes in a row; locked for %s", t.Failures, t.LockedUntil.Sub(s.core.Now()))})
	}
	return ErrInvalidCode
}

// codeSucceeded settles a right code's attempt, resetting the count.
func (s *Service) codeSucceeded(ctx context.Context, a *authority.Attempt, userID string) {
	if _, err := s.core.SettleAttempt(ctx, a, authority.AttemptSucceeded); err != nil {
		s.core.Log().Warn("second-factor throttle not reset", "user_id", userID, "err", err)
	}
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
func recoveryCodeHash(userID, norm string) string { return authority.HashToken(userID + "\x00" + norm) }
