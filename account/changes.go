package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// ChangePassword sets a new password after checking the current one
// (authority.Reauthenticate: an account without a password sets its
// first one under a recent sign-in instead). Every other session of the
// user ends; current (the session of the request, may be empty) stays.
// The user is mailed a notice.
func (s *Service) ChangePassword(ctx context.Context, userID string, re authority.Reauth, next, currentSession string, meta authority.Meta) error {
	if err := authority.ValidatePassword(next); err != nil {
		return invalid("newPassword", err.(*authority.ValidationError).Reason)
	}
	u, err := s.core.Reauthenticate(ctx, userID, re, meta)
	if err != nil {
		return err
	}
	hash, err := s.core.HashPassword(ctx, next, meta)
	if err != nil {
		return err
	}
	now := s.core.Now().UTC()
	if err := s.cancelAccountLinks(ctx, u.ID, now); err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return err
	}
	n, err := s.core.EndUserSessions(ctx, u.ID, currentSession, now)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%d other session(s) revoked", n)
	if u.PasswordHash == "" {
		detail = "first password set under a recent sign-in; " + detail
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventPasswordChanged, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: detail})
	s.notifyPasswordChanged(ctx, u)
	return nil
}

// RequestEmailChange mails a confirmation link to the new address and a
// notice to the current one; the email changes when the link is opened.
func (s *Service) RequestEmailChange(ctx context.Context, userID, newEmail, password string, meta authority.Meta) error {
	email, err := authority.NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	u, err := s.core.CheckPassword(ctx, userID, password, meta)
	if err != nil {
		return err
	}
	if email == u.Email {
		return invalid("email", "is already the account's email")
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return authority.ErrEmailTaken
	} else if !errors.Is(err, authority.ErrNotFound) {
		return err
	}
	if err := s.sendVerification(ctx, u, TokenEmailChange, email); err != nil {
		return err
	}
	if err := s.core.QueueMail(ctx, authority.Mail{Kind: "email-change-notice", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
		s.core.Log().Warn("email-change notice not queued", "user_id", u.ID, "err", err)
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventEmailChangeRequested, Actor: u.ID, UserID: u.ID, IP: meta.IP})
	return nil
}

// DeleteAccount removes the account after checking its password (or, for
// an account without one, a recent sign-in: authority.Reauthenticate).
func (s *Service) DeleteAccount(ctx context.Context, userID string, re authority.Reauth, meta authority.Meta) error {
	if _, err := s.core.Reauthenticate(ctx, userID, re, meta); err != nil {
		return err
	}
	return s.core.DeleteUser(ctx, userID, meta)
}

// cancelAccountLinks spends every pending mailed link of the user (email
// verification, email change, password reset) ahead of a password
// change or reset: a link mailed before it must not act on the account
// after it, as an email change would take the account away from an owner
// who changed the password because someone else had it.
func (s *Service) cancelAccountLinks(ctx context.Context, userID string, at time.Time) error {
	n, err := s.store.CancelAccountTokens(ctx, userID, at)
	if err != nil {
		return fmt.Errorf("cancel pending links: %w", err)
	}
	if n > 0 {
		s.core.Log().Info("pending account links cancelled by a password change", "user_id", userID, "links", n)
	}
	return nil
}
