package authority

import (
	"context"
	"errors"
	"slices"
)

// SecondFactorGate is what the core asks after a correct password: may
// this sign-in go on, or does it need (or must it first enrol) a second
// factor? Package mfa satisfies it; its answers are errors of its own
// (a second factor required, with the token to continue) that the core
// passes on untouched.
type SecondFactorGate interface {
	Gate(ctx context.Context, u User, amr []string, meta Meta) error
}

// errNoGate answers a password sign-in when no SecondFactorGate was set:
// without one the core cannot know whether the user has a second factor,
// and a sign-in must not skip it by omission.
var errNoGate = errors.New("authority: no second-factor gate is set")

// SetSecondFactorGate sets the gate every password sign-in passes. Until
// it is set, password sign-ins fail.
func (s *Service) SetSecondFactorGate(g SecondFactorGate) { s.gate = g }

func (s *Service) passSecondFactorGate(ctx context.Context, u User, amr []string, meta Meta) error {
	if s.gate == nil {
		return errNoGate
	}
	return s.gate.Gate(ctx, u, amr, meta)
}

// MFARequiredFor reports whether the user's roles demand a second factor
// (Config.MFARequiredRoles).
func (s *Service) MFARequiredFor(u User) bool {
	for _, r := range u.Roles() {
		if slices.Contains(s.cfg.MFARequiredRoles, r) {
			return true
		}
	}
	return false
}

// EmailVerifier mails a user a link that verifies their email (after a
// self-service sign-up, and when a login is refused because the email is
// not verified), and tells the owner of a registered email that someone
// tried to sign up with it. Package account satisfies it, under its
// per-address mail limit; without one no such mail is sent (as when no
// mail goes anywhere).
type EmailVerifier interface {
	SendVerification(ctx context.Context, u User) error
	NotifySignupAttempt(ctx context.Context, u User) error
}

// SetEmailVerifier sets who mails verification links.
func (s *Service) SetEmailVerifier(v EmailVerifier) { s.verifier = v }

func (s *Service) sendVerification(ctx context.Context, u User) error {
	if s.verifier == nil {
		return nil
	}
	return s.verifier.SendVerification(ctx, u)
}
