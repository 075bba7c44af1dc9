package account

import (
	"context"

	"github.com/sigil-auth/sigil/authority"
)

// Service is account self-service: the mailed links that verify an
// email, change it or reset a password, the changes a signed-in user
// makes to their own account (password, email, deletion), their
// sessions, and the sign-up that does not tell a registered email. It
// asks the core for passwords, hashing, ending sessions, mail and audit.
type Service struct {
	core   *authority.Service
	store  Store
	issuer string
	// mailLimit bounds the mail a client can make Sigil send to one
	// address.
	mailLimit mailLimiter
}

// New returns the self-service of core's accounts and sets it as core's
// EmailVerifier, so that a self-service sign-up, and a login refused for
// an unverified email, mail a verification link.
func New(core *authority.Service, store Store) *Service {
	s := &Service{core: core, store: store, issuer: core.Config().Issuer}
	core.SetEmailVerifier(s)
	return s
}

// SendVerification mails u a link that verifies u.Email: the core's
// EmailVerifier. ErrThrottled when the address had its share of mail.
func (s *Service) SendVerification(ctx context.Context, u authority.User) error {
	return s.sendVerification(ctx, u, TokenVerifyEmail, u.Email)
}

// NotifySignupAttempt mails the owner of u.Email that someone tried to
// sign up with it, pointing to the password reset: the core's
// EmailVerifier, for a sign-up that must not tell the email is taken.
// Beyond the address's share of mail, nothing is sent.
func (s *Service) NotifySignupAttempt(ctx context.Context, u authority.User) error {
	if !s.mailLimit.allow(u.Email, s.core.Now()) {
		return nil
	}
	return s.core.QueueMail(ctx, authority.Mail{Kind: "signup-attempt", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email,
		Link: s.issuer + "/forgot-password"})
}

// invalid is the core's validation error for field.
func invalid(field, reason string) error {
	return &authority.ValidationError{Field: field, Reason: reason}
}
