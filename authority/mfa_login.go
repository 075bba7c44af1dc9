package authority

import (
	"context"
	"errors"
	"time"
)

// secondFactorGate runs after a correct password. A user with a second
// factor gets an MFARequiredError carrying a login token; a user whose
// roles require a factor and who has none gets an
// MFAEnrollmentRequiredError carrying an enrolment token. Otherwise the
// login may go on.
func (s *Service) secondFactorGate(ctx context.Context, u User, amr []string, meta Meta) error {
	f, err := s.store.UserFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	if f.Any() {
		tok, err := s.newMFAToken(ctx, u.ID, MFAPurposeLogin, amr, MFATokenTTL)
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
		s.audit(ctx, Event{Type: EventLoginMFARequired, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "password accepted; waiting for the second factor"})
		return &MFARequiredError{Token: tok, Methods: methods}
	}
	if s.mfaRequiredFor(u) {
		tok, err := s.newMFAToken(ctx, u.ID, MFAPurposeEnroll, amr, MFAEnrollTokenTTL)
		if err != nil {
			return err
		}
		s.audit(ctx, Event{Type: EventLoginMFAEnrollmentRequired, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "password accepted; no tokens until a second factor is enrolled"})
		return &MFAEnrollmentRequiredError{Token: tok}
	}
	return nil
}

func (s *Service) newMFAToken(ctx context.Context, userID, purpose string, amr []string, ttl time.Duration) (string, error) {
	tok := RandomToken(32)
	now := s.now().UTC()
	err := s.store.CreateMFAToken(ctx, MFAToken{Hash: HashToken(tok), UserID: userID, Purpose: purpose, AMR: amr,
		CreatedAt: now, ExpiresAt: now.Add(ttl)})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// liveMFAToken returns the unexpired, unspent token of purpose.
func (s *Service) liveMFAToken(ctx context.Context, token, purpose string) (MFAToken, error) {
	if token == "" || len(token) > 256 {
		return MFAToken{}, ErrInvalidMFAToken
	}
	t, err := s.store.MFATokenByHash(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return MFAToken{}, ErrInvalidMFAToken
	}
	if err != nil {
		return MFAToken{}, err
	}
	if t.Purpose != purpose || !t.UsedAt.IsZero() || t.Failures >= MFATokenMaxFailures || !s.now().Before(t.ExpiresAt) {
		return MFAToken{}, ErrInvalidMFAToken
	}
	return t, nil
}

// CompleteLogin finishes a login that answered MFARequiredError: code is a
// current TOTP code or an unused recovery code. A wrong code counts against
// the token (MFATokenMaxFailures ends it) and the account's throttle; the
// first right code spends the token and returns the tokens, whose amr
// names both factors.
func (s *Service) CompleteLogin(ctx context.Context, mfaToken, code string, meta Meta) (TokenPair, error) {
	u, amr, method, err := s.PassSecondFactor(ctx, mfaToken, code, meta)
	if err != nil {
		return TokenPair{}, err
	}
	s.profiles.put(u.ID, Profile{Name: u.Name, EmailVerified: u.EmailVerified}, s.now())
	pair, err := s.issueUserTokens(ctx, u, "", s.cfg.LoginClientID, amr, meta)
	if err != nil {
		return TokenPair{}, err
	}
	s.audit(ctx, Event{Type: EventLoginSuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "second factor: " + method})
	return pair, nil
}

// PassSecondFactor checks code against the login token mfaToken and
// spends the token. It returns the user, the amr of the whole sign-in and
// the method that matched.
func (s *Service) PassSecondFactor(ctx context.Context, mfaToken, code string, meta Meta) (User, []string, string, error) {
	t, err := s.liveMFAToken(ctx, mfaToken, MFAPurposeLogin)
	if err != nil {
		return User{}, nil, "", err
	}
	method, err := s.VerifySecondFactor(ctx, t.UserID, code, meta)
	if errors.Is(err, ErrInvalidCode) {
		if _, ferr := s.store.FailMFAToken(ctx, t.Hash); ferr != nil {
			return User{}, nil, "", ferr
		}
		return User{}, nil, "", err
	}
	if err != nil {
		return User{}, nil, "", err
	}
	if err := s.store.SpendMFAToken(ctx, t.Hash, MFATokenMaxFailures, s.now().UTC()); err != nil {
		if errors.Is(err, ErrConflict) {
			return User{}, nil, "", ErrInvalidMFAToken
		}
		return User{}, nil, "", err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return User{}, nil, "", err
	}
	// The account may have been locked since its password was checked.
	if err := s.loginAllowed(ctx, u, meta); err != nil {
		return User{}, nil, "", err
	}
	return u, withSecondFactor(t.AMR, method), method, nil
}

// EnrollmentUser returns the user an enrolment token (from an
// MFAEnrollmentRequiredError) belongs to, while it is live.
func (s *Service) EnrollmentUser(ctx context.Context, token string) (string, error) {
	t, err := s.liveMFAToken(ctx, token, MFAPurposeEnroll)
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
