package authority

import (
	"context"
	"errors"
	"fmt"
)

// checkPassword verifies the password of the user a token names, at the
// cost of one hash under a hashing slot. The check is an attempt against
// the account's login throttle, reserved and settled as a login's is: a
// stolen session or access token must not become a way to guess the
// password without the lockout (changing it, deleting the account,
// removing a passkey all ask for it).
func (s *Service) CheckPassword(ctx context.Context, userID, password string, meta Meta) (User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, err
	}
	if len(password) == 0 || len(password) > MaxPasswordBytes {
		return User{}, ErrInvalidCredentials
	}
	a, err := s.ReserveAttempt(ctx, u.Email, meta)
	if err != nil {
		return User{}, err
	}
	defer s.AbandonAttempt(ctx, a)
	release, err := s.hashes.acquireFor(ctx, meta.IP)
	if err != nil {
		return User{}, err
	}
	defer release()
	ok, _, err := s.verifyHash(u.PasswordHash, password)
	if err != nil || !ok {
		return User{}, s.loginFailed(ctx, a, u.ID, meta, "wrong password asked again of a signed-in user")
	}
	if _, err := s.SettleAttempt(ctx, a, AttemptSucceeded); err != nil {
		return User{}, err
	}
	return u, nil
}

// ChangePassword sets a new password after checking the current one. Every
// other session of the user ends; current (the session of the request,
// may be empty) stays. The user is mailed a notice.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, currentSession string, meta Meta) error {
	if err := ValidatePassword(next); err != nil {
		return invalid("newPassword", err.(*ValidationError).Reason)
	}
	u, err := s.CheckPassword(ctx, userID, current, meta)
	if err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, next, meta)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.cancelAccountLinks(ctx, u.ID, now); err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return err
	}
	n, err := s.endUserSessions(ctx, u.ID, currentSession, now)
	if err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventPasswordChanged, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: fmt.Sprintf("%d other session(s) revoked", n)})
	s.notifyPasswordChanged(ctx, u)
	return nil
}

// RequestEmailChange mails a confirmation link to the new address and a
// notice to the current one; the email changes when the link is opened.
func (s *Service) RequestEmailChange(ctx context.Context, userID, newEmail, password string, meta Meta) error {
	email, err := NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	u, err := s.CheckPassword(ctx, userID, password, meta)
	if err != nil {
		return err
	}
	if email == u.Email {
		return invalid("email", "is already the account's email")
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return ErrEmailTaken
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.sendVerification(ctx, u, TokenEmailChange, email); err != nil {
		return err
	}
	if err := s.mailer.Queue(ctx, Mail{Kind: "email-change-notice", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
		s.log.Warn("email-change notice not queued", "user_id", u.ID, "err", err)
	}
	s.audit(ctx, Event{Type: EventEmailChangeRequested, Actor: u.ID, UserID: u.ID, IP: meta.IP})
	return nil
}

// DeleteAccount removes the account after checking its password.
func (s *Service) DeleteAccount(ctx context.Context, userID, password string, meta Meta) error {
	if _, err := s.CheckPassword(ctx, userID, password, meta); err != nil {
		return err
	}
	return s.deleteUser(ctx, userID, meta)
}

// deleteUser removes the account and every row about it. The audit event
// names the user's id only, never the email.
func (s *Service) deleteUser(ctx context.Context, userID string, meta Meta) error {
	// Locked first, so that a code redeemed from now on is refused, then
	// the sessions ended so that their access tokens can be denied: the
	// rows go with the account.
	now := s.now().UTC()
	if err := s.store.SetLocked(ctx, userID, true, now); err != nil {
		return err
	}
	if _, err := s.endUserSessions(ctx, userID, "", now); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, userID); err != nil {
		return err
	}
	s.profiles.forget(userID)
	actor := meta.Actor
	if actor == "" {
		actor = userID
	}
	s.audit(ctx, Event{Type: EventUserDeleted, Actor: actor, UserID: userID, IP: meta.IP})
	return nil
}

// Sessions lists the user's live sessions.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	return s.store.UserSessions(ctx, userID, s.now().UTC())
}

// RevokeSession ends one of the user's sessions; ErrNotFound if the user
// has no such live session.
func (s *Service) RevokeSession(ctx context.Context, userID, id string, meta Meta) error {
	fams, err := s.store.RevokeUserSession(ctx, userID, id, s.now().UTC())
	if err != nil {
		return err
	}
	if err := s.DenyFamilies(ctx, fams); err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventSessionRevoked, Actor: userID, UserID: userID, IP: meta.IP, Detail: "session " + id})
	return nil
}

// RevokeAllSessions ends every session of the user.
func (s *Service) RevokeAllSessions(ctx context.Context, userID string, meta Meta) error {
	n, err := s.endUserSessions(ctx, userID, "", s.now().UTC())
	if err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventSessionRevokedAll, Actor: userID, UserID: userID, IP: meta.IP, Detail: fmt.Sprintf("%d session(s) revoked", n)})
	return nil
}

// AdminRevokeSessions ends every session of the user for an
// administrator, audited with the administrator as the actor;
// ErrNotFound for no such user.
func (s *Service) AdminRevokeSessions(ctx context.Context, userID string, meta Meta) error {
	if _, err := s.store.UserByID(ctx, userID); err != nil {
		return err
	}
	n, err := s.endUserSessions(ctx, userID, "", s.now().UTC())
	if err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventSessionRevokedAll, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: fmt.Sprintf("%d session(s) revoked by an administrator", n)})
	return nil
}
