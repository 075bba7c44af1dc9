package authority

import (
	"context"
	"log/slog"
	"time"
)

// What the sign-in flows built on the core (the hosted pages' OpenID
// Connect flow) ask of it: checking a password as a login does, issuing
// and revoking tokens the way the core's own grants do.

// AuthenticatePassword checks an email and password exactly as Login does
// (one answer for unknown email and wrong password, throttling, lockout,
// the hashing gate, the account's state) and the second-factor gate: a
// user with a second factor gets an MFARequiredError, one who must enrol
// first an MFAEnrollmentRequiredError. It returns the user, who may be
// signed in with amr ["pwd"], and issues nothing.
func (s *Service) AuthenticatePassword(ctx context.Context, email, password string, meta Meta) (User, error) {
	u, err := s.checkCredentials(ctx, email, password, meta)
	if err != nil {
		return User{}, err
	}
	if err := s.LoginAllowed(ctx, u, meta); err != nil {
		return User{}, err
	}
	if err := s.passSecondFactorGate(ctx, u, []string{"pwd"}, meta); err != nil {
		return User{}, err
	}
	return u, nil
}

// RememberProfile caches the user's profile claims (name, email
// verification) for userinfo and /auth/me, as a sign-in or a token
// issue does.
func (s *Service) RememberProfile(u User) {
	s.profiles.put(u.ID, Profile{Name: u.Name, EmailVerified: u.EmailVerified}, s.now())
}

// DenyAccessToken puts the access token jti on the deny list until exp,
// on this instance at once and on the others within their refresh.
func (s *Service) DenyAccessToken(ctx context.Context, jti string, exp time.Time) error {
	if err := s.store.DenyAccessToken(ctx, jti, exp, s.now().UTC()); err != nil {
		return err
	}
	s.deny.add(jti, exp)
	return nil
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Log is where the service logs.
func (s *Service) Log() *slog.Logger { return s.log }

// FinishLogin ends a REST sign-in that authenticated u with amr (a
// password, a second factor after it, a passkey): it remembers the
// profile, issues the login client's tokens and records the success,
// with detail saying how.
func (s *Service) FinishLogin(ctx context.Context, u User, amr []string, meta Meta, detail string) (TokenPair, error) {
	s.profiles.put(u.ID, Profile{Name: u.Name, EmailVerified: u.EmailVerified}, s.now())
	pair, err := s.issueUserTokens(ctx, u, "", s.cfg.LoginClientID, amr, meta)
	if err != nil {
		return TokenPair{}, err
	}
	s.audit(ctx, Event{Type: EventLoginSuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: detail})
	return pair, nil
}
