package authority

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Errors of account recovery and verification.
var (
	// ErrBadAccountToken is the one answer for a mailed token that is
	// unknown, used or expired.
	ErrBadAccountToken = errors.New("the link is invalid, used or expired")
	// ErrEmailNotVerified refuses a login while RequireVerifiedEmail is on
	// and the email is not verified; a new link has been mailed.
	ErrEmailNotVerified = errors.New("the email address is not verified")
	// ErrAccountLocked refuses a login to a locked account.
	ErrAccountLocked = errors.New("the account is locked")
)

// forgotFloor is the least time a password-reset request takes, so that a
// known email (a token written, a mail queued) and an unknown one answer
// after the same time.
const forgotFloor = 250 * time.Millisecond

// newAccountToken makes a 256-bit token and its stored record.
func (s *Service) newAccountToken(kind, userID, email string, ttl time.Duration) (string, AccountToken) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := s.now().UTC()
	return tok, AccountToken{Hash: HashToken(tok), Kind: kind, UserID: userID, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// link builds a hosted-page link under the issuer, never from a request.
func (s *Service) link(page, token string) string {
	return s.cfg.Issuer + page + "?token=" + url.QueryEscape(token)
}

// sendVerification mails u a link that verifies email (u.Email for a
// signup, a new address for an email change).
func (s *Service) sendVerification(ctx context.Context, u User, kind, email string) error {
	if _, none := s.mailer.(discardMailer); none {
		return nil // no mail goes anywhere, so no link is made
	}
	if !s.mailLimit.allow(email, s.now()) {
		return ErrThrottled
	}
	tok, rec := s.newAccountToken(kind, u.ID, email, VerifyTokenTTL)
	if err := s.store.CreateAccountToken(ctx, rec); err != nil {
		return err
	}
	mailKind := "verify-email"
	if kind == TokenEmailChange {
		mailKind = "email-change"
	}
	return s.mailer.Queue(ctx, Mail{Kind: mailKind, To: email, UserID: u.ID, Name: u.Name, Email: email,
		Link: s.link("/verify-email", tok), Expires: VerifyTokenTTL})
}

// ResendVerification mails the user a new verification link. It is a
// no-op for a verified email.
func (s *Service) ResendVerification(ctx context.Context, userID string, meta Meta) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return nil
	}
	if err := s.sendVerification(ctx, u, TokenVerifyEmail, u.Email); err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventEmailVerificationSent, Actor: u.ID, UserID: u.ID, IP: meta.IP})
	return nil
}

// VerifyEmail spends a verification or email-change token: the address it
// was sent to becomes the account's verified email.
func (s *Service) VerifyEmail(ctx context.Context, token string, meta Meta) error {
	rec, err := s.liveToken(ctx, token, TokenVerifyEmail, TokenEmailChange)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.store.UseAccountToken(ctx, rec.Hash, now); err != nil {
		return ErrBadAccountToken
	}
	if rec.Kind == TokenEmailChange {
		if err := s.store.ChangeEmail(ctx, rec.UserID, rec.Email, now); err != nil {
			return err
		}
		s.profiles.forget(rec.UserID)
		s.audit(ctx, Event{Type: EventEmailChanged, Actor: rec.UserID, UserID: rec.UserID, IP: meta.IP,
			Detail: "email address replaced by a verified new one"})
		return nil
	}
	if err := s.store.SetEmailVerified(ctx, rec.UserID, rec.Email, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrBadAccountToken
		}
		return err
	}
	s.profiles.forget(rec.UserID)
	s.audit(ctx, Event{Type: EventEmailVerified, Actor: rec.UserID, UserID: rec.UserID, IP: meta.IP})
	return nil
}

// CheckEmailLink reports whether a verification or email-change token
// would be accepted by VerifyEmail now, without spending it: nil, or
// ErrBadAccountToken for an unknown, used or expired one. Pages check a
// mailed link when it is opened, so a dead link says so before the user
// acts on it.
func (s *Service) CheckEmailLink(ctx context.Context, token string) error {
	_, err := s.liveToken(ctx, token, TokenVerifyEmail, TokenEmailChange)
	return err
}

// CheckResetLink reports whether a password-reset token would be
// accepted by ResetPassword now, without spending it: nil, or
// ErrBadAccountToken for an unknown, used or expired one, or one mailed
// to an address the account no longer has.
func (s *Service) CheckResetLink(ctx context.Context, token string) error {
	_, _, err := s.liveResetLink(ctx, token)
	return err
}

// liveResetLink returns the live reset token and its account. The link
// resets the password of the account only while it still has the
// address the link was mailed to: after an email change, a link in the
// old mailbox is no way back into the account.
func (s *Service) liveResetLink(ctx context.Context, token string) (AccountToken, User, error) {
	rec, err := s.liveToken(ctx, token, TokenReset)
	if err != nil {
		return AccountToken{}, User{}, err
	}
	u, err := s.store.UserByID(ctx, rec.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Email != rec.Email) {
		return AccountToken{}, User{}, ErrBadAccountToken
	}
	return rec, u, err
}

// liveToken returns the stored unused, unexpired token of one of kinds.
func (s *Service) liveToken(ctx context.Context, token string, kinds ...string) (AccountToken, error) {
	if !PlausibleToken(token) { // same shape: 43 base64url characters
		return AccountToken{}, ErrBadAccountToken
	}
	rec, err := s.store.AccountTokenByHash(ctx, HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return AccountToken{}, ErrBadAccountToken
	}
	if err != nil {
		return AccountToken{}, err
	}
	if !rec.UsedAt.IsZero() || !s.now().Before(rec.ExpiresAt) {
		return AccountToken{}, ErrBadAccountToken
	}
	for _, k := range kinds {
		if rec.Kind == k {
			return rec, nil
		}
	}
	return AccountToken{}, ErrBadAccountToken
}

// ForgotPassword mails a reset link if email belongs to an account. Its
// answer and its duration are the same for known and unknown emails, so
// it tells nothing about which are registered.
func (s *Service) ForgotPassword(ctx context.Context, email string, meta Meta) error {
	start := time.Now()
	norm, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.forgot(ctx, norm, meta); err != nil {
		// Logged, never answered: the answer would tell the email exists.
		s.log.Warn("password reset mail not queued", "err", err)
	}
	if wait := forgotFloor - time.Since(start); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return nil
}

func (s *Service) forgot(ctx context.Context, email string, meta Meta) error {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		s.audit(ctx, Event{Type: EventPasswordResetRequested, IP: meta.IP, Detail: "unknown email"})
		return nil
	}
	if err != nil {
		return err
	}
	return s.SendReset(ctx, u, meta)
}

// SendReset mails u a password-reset link (the forgot-password flow, or an
// administrator's request).
func (s *Service) SendReset(ctx context.Context, u User, meta Meta) error {
	if !s.mailLimit.allow(u.Email, s.now()) {
		s.audit(ctx, Event{Type: EventPasswordResetRequested, UserID: u.ID, IP: meta.IP, Detail: "mail rate limit reached; none sent"})
		return nil
	}
	tok, rec := s.newAccountToken(TokenReset, u.ID, u.Email, ResetTokenTTL)
	if err := s.store.CreateAccountToken(ctx, rec); err != nil {
		return err
	}
	if err := s.mailer.Queue(ctx, Mail{Kind: "reset-password", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email,
		Link: s.link("/reset-password", tok), Expires: ResetTokenTTL}); err != nil {
		return err
	}
	actor := meta.Actor
	if actor == "" {
		actor = u.ID
	}
	s.audit(ctx, Event{Type: EventPasswordResetRequested, Actor: actor, UserID: u.ID, IP: meta.IP, Detail: "reset link mailed"})
	return nil
}

// ResetPassword spends a reset token and sets a new password; every
// session of the user ends and every other pending link is cancelled. A
// token mailed to an address the account no longer has is
// ErrBadAccountToken, as an unknown one is.
func (s *Service) ResetPassword(ctx context.Context, token, password string, meta Meta) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	rec, u, err := s.liveResetLink(ctx, token)
	if err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password, meta)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.store.UseAccountToken(ctx, rec.Hash, now); err != nil {
		return ErrBadAccountToken
	}
	if err := s.cancelAccountLinks(ctx, u.ID, now); err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return err
	}
	n, err := s.endUserSessions(ctx, u.ID, "", now)
	if err != nil {
		return err
	}
	if err := s.store.ResetLoginThrottle(ctx, u.Email); err != nil {
		s.log.Warn("login throttle not reset after password reset", "err", err)
	}
	s.audit(ctx, Event{Type: EventPasswordReset, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: fmt.Sprintf("%d session(s) revoked", n)})
	s.notifyPasswordChanged(ctx, u)
	return nil
}

func (s *Service) notifyPasswordChanged(ctx context.Context, u User) {
	if err := s.mailer.Queue(ctx, Mail{Kind: "password-changed", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
		s.log.Warn("password-changed notice not queued", "user_id", u.ID, "err", err)
	}
}
