package mfa

import (
	"context"
	"errors"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// Gate is the core's SecondFactorGate; it runs after a correct
// password. A user with a second
// factor gets a RequiredError carrying a login token; a user whose
// roles require a factor and who has none gets an
// EnrollmentRequiredError carrying an enrolment token. Otherwise the
// login may go on.
func (s *Service) Gate(ctx context.Context, u authority.User, amr []string, meta authority.Meta) error {
	f, err := s.store.UserFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	if f.Any() {
		tok, err := s.newMFAToken(ctx, u.ID, PurposeLogin, amr, TokenTTL)
		if err != nil {
			return err
		}
		var methods []string
		if f.TOTP {
			methods = append(methods, MethodTOTP)
		}
		if f.WebAuthn > 0 {
			methods = append(methods, MethodWebAuthn)
		}
		if f.RecoveryCodes > 0 {
			methods = append(methods, MethodRecoveryCode)
		}
		s.core.Audit(ctx, authority.Event{Type: authority.EventLoginMFARequired, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "password accepted; waiting for the second factor"})
		return &RequiredError{Token: tok, Methods: methods}
	}
	if s.core.MFARequiredFor(u) {
		tok, err := s.newMFAToken(ctx, u.ID, PurposeEnroll, amr, EnrollTokenTTL)
		if err != nil {
			return err
		}
		s.core.Audit(ctx, authority.Event{Type: authority.EventLoginMFAEnrollmentRequired, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "password accepted; no tokens until a second factor is enrolled"})
		return &EnrollmentRequiredError{Token: tok}
	}
	return nil
}

func (s *Service) newMFAToken(ctx context.Context, userID, purpose string, amr []string, ttl time.Duration) (string, error) {
	tok := authority.RandomToken(32)
	now := s.core.Now().UTC()
	err := s.store.CreateMFAToken(ctx, Token{Hash: authority.HashToken(tok), UserID: userID, Purpose: purpose, AMR: amr,
		CreatedAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// liveMFAToken returns the unexpired, unspent token of purpose.
func (s *Service) liveMFAToken(ctx context.Context, token, purpose string) (Token, error) {
	if token == "" || len(token) > 256 {
		return Token{}, ErrInvalidToken
	}
	t, err := s.store.MFATokenByHash(ctx, authority.HashToken(token))
	if errors.Is(err, authority.ErrNotFound) {
		return Token{}, ErrInvalidToken
	}
	if err != nil {
		return Token{}, err
	}
	if t.Purpose != purpose || !t.UsedAt.IsZero() || t.Failures >= TokenMaxFailures || !s.core.Now().Before(t.ExpiresAt) {
		return Token{}, ErrInvalidToken
	}
	return t, nil
}

// CompleteLogin finishes a login that answered RequiredError: code is a
// current TOTP code or an unused recovery code. A wrong code counts against
// the token (TokenMaxFailures ends it) and the account's throttle; the
// first right code spends the token and returns the tokens, whose amr
// names both factors.
func (s *Service) CompleteLogin(ctx context.Context, mfaToken, code string, meta authority.Meta) (authority.TokenPair, error) {
	u, amr, method, err := s.PassSecondFactor(ctx, mfaToken, code, meta)
	if err != nil {
		return authority.TokenPair{}, err
	}
	return s.core.FinishLogin(ctx, u, amr, meta, "second factor: "+method)
}

// PassSecondFactor checks code against the login token mfaToken and
// spends the token. It returns the user, the amr of the whole sign-in and
// the method that matched.
func (s *Service) PassSecondFactor(ctx context.Context, mfaToken, code string, meta authority.Meta) (authority.User, []string, string, error) {
	t, err := s.liveMFAToken(ctx, mfaToken, PurposeLogin)
	if err != nil {
		return authority.User{}, nil, "", err
	}
	method, err := s.VerifySecondFactor(ctx, t.UserID, code, meta)
	if errors.Is(err, ErrInvalidCode) {
		if _, ferr := s.store.FailMFAToken(ctx, t.Hash); ferr != nil {
			return authority.User{}, nil, "", ferr
		}
		return authority.User{}, nil, "", err
	}
	if err != nil {
		return authority.User{}, nil, "", err
	}
	if err := s.store.SpendMFAToken(ctx, t.Hash, TokenMaxFailures, s.core.Now().UTC()); err != nil {
		if errors.Is(err, authority.ErrConflict) {
			return authority.User{}, nil, "", ErrInvalidToken
		}
		return authority.User{}, nil, "", err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return authority.User{}, nil, "", err
	}
	// The account may have been locked since its password was checked.
	if err := s.core.LoginAllowed(ctx, u, meta); err != nil {
		return authority.User{}, nil, "", err
	}
	return u, withSecondFactor(t.AMR, method), method, nil
}

// EnrollmentUser returns the user an enrolment token (from an
// EnrollmentRequiredError) belongs to, while it is live.
func (s *Service) EnrollmentUser(ctx context.Context, token string) (string, error) {
	t, err := s.liveMFAToken(ctx, token, PurposeEnroll)
	if err != nil {
		return "", err
	}
	return t.UserID, nil
}

// withSecondFactor is the amr (RFC 8176) of a sign-in that added method
// to the factors in first.
func withSecondFactor(first []string, method string) []string {
	amr := append([]string{}, first...)
	switch method {
	case MethodTOTP, MethodRecoveryCode:
		amr = append(amr, "otp")
	}
	return append(amr, "mfa")
}
