package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// Errors of account recovery and verification.
var (
	// ErrBadAccountToken is the one answer for a mailed token that is
	// unknown, used or expired.
	ErrBadAccountToken = errors.New("the link is invalid, used or expired")
)

// forgotFloor is the least time a password-reset request takes, so that a
// known email (a token written, a mail queued) and an unknown one answer
// after the same time.
const forgotFloor = 250 * time.Millisecond

// newAccountToken makes a 256-bit token and its stored record.
func (s *Service) newAccountToken(kind, userID, email string, ttl time.Duration) (string, Token) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := s.core.Now().UTC()
	return tok, Token{Hash: authority.HashToken(tok), Kind: kind, UserID: userID, Email: email, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// link builds a hosted-page link under the issuer, never from a request.
func (s *Service) link(page, token string) string {
	return s.issuer + page + "?token=" + url.QueryEscape(token)
}

// sendVerification mails u a link that verifies email (u.Email for a
// signup, a new address for an email change).
func (s *Service) sendVerification(ctx context.Context, u authority.User, kind, email string) error {
	if !s.core.SendsMail() {
		return nil // no mail goes anywhere, so no link is made
	}
	if !s.mailLimit.allow(email, s.core.Now()) {
		return authority.ErrThrottled
	}
	tok, rec := s.newAccountToken(kind, u.ID, email, VerifyTokenTTL)
	if err := s.store.CreateAccountToken(ctx, rec); err != nil {
		return err
	}
	mailKind := "verify-email"
	if kind == TokenEmailChange {
		mailKind = "email-change"
	}
	return s.core.QueueMail(ctx, authority.Mail{Kind: mailKind, To: email, UserID: u.ID, Name: u.Name, Email: email,
		Link: s.link("/verify-email", tok), Expires: VerifyTokenTTL})
}

// ResendVerification mails the user a new verification link. It is a
// no-op for a verified email.
func (s *Service) ResendVerification(ctx context.Context, userID string, meta authority.Meta) error {
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
	s.core.Audit(ctx, authority.Event{Type: authority.EventEmailVerificationSent, Actor: u.ID, UserID: u.ID, IP: meta.IP})
	return nil
}

// VerifyEmail spends a verification or email-change token: the address it
// was sent to becomes the account's verified email.
func (s *Service) VerifyEmail(ctx context.Context, token string, meta authority.Meta) error {
	rec, err := s.liveToken(ctx, token, TokenVerifyEmail, TokenEmailChange)
	if err != nil {
		return err
	}
	now := s.core.Now().UTC()
	if err := s.store.UseAccountToken(ctx, rec.Hash, now); err != nil {
		return ErrBadAccountToken
	}
	if rec.Kind == TokenEmailChange {
		if err := s.store.ChangeEmail(ctx, rec.UserID, rec.Email, now); err != nil {
			return err
		}
		s.core.ForgetProfile(rec.UserID)
		s.core.Audit(ctx, authority.Event{Type: authority.EventEmailChanged, Actor: rec.UserID, UserID: rec.UserID, IP: meta.IP,
			Detail: "email address replaced by a verified new one"})
		return nil
	}
	if err := s.store.SetEmailVerified(ctx, rec.UserID, rec.Email, now); err != nil {
		if errors.Is(err, authority.ErrNotFound) {
			return ErrBadAccountToken
		}
		return err
	}
	s.core.ForgetProfile(rec.UserID)
	s.core.Audit(ctx, authority.Event{Type: authority.EventEmailVerified, Actor: rec.UserID, UserID: rec.UserID, IP: meta.IP})
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
func (s *Service) liveResetLink(ctx context.Context, token string) (Token, authority.User, error) {
	rec, err := s.liveToken(ctx, token, TokenReset)
	if err != nil {
		return Token{}, authority.User{}, err
	}
	u, err := s.store.UserByID(ctx, rec.UserID)
	if errors.Is(err, authority.ErrNotFound) || (err == nil && u.Email != rec.Email) {
		return Token{}, authority.User{}, ErrBadAccountToken
	}
	return rec, u, err
}

// liveToken returns the stored unused, unexpired token of one of kinds.
func (s *Service) liveToken(ctx context.Context, token string, kinds ...string) (Token, error) {
	if !authority.PlausibleToken(token) { // same shape: 43 base64url characters
		return Token{}, ErrBadAccountToken
	}
	rec, err := s.store.AccountTokenByHash(ctx, authority.HashToken(token))
	if errors.Is(err, authority.ErrNotFound) {
		return Token{}, ErrBadAccountToken
	}
	if err != nil {
		return Token{}, err
	}
	if !rec.UsedAt.IsZero() || !s.core.Now().Before(rec.ExpiresAt) {
		return Token{}, ErrBadAccountToken
	}
	for _, k := range kinds {
		if rec.Kind == k {
			return rec, nil
		}
	}
	return Token{}, ErrBadAccountToken
}

// ForgotPassword mails a reset link if email belongs to an account. Its
// answer and its duration are the same for known and unknown emails, so
// it tells nothing about which are registered.
func (s *Service) ForgotPassword(ctx context.Context, email string, meta authority.Meta) error {
	start := time.Now()
	norm, err := authority.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.forgot(ctx, norm, meta); err != nil {
		// Logged, never answered: the answer would tell the email exists.
		s.core.Log().Warn("password reset mail not queued", "err", err)
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

func (s *Service) forgot(ctx context.Context, email string, meta authority.Meta) error {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, authority.ErrNotFound) {
		s.core.Audit(ctx, authority.Event{Type: authority.EventPasswordResetRequested, IP: meta.IP, Detail: "unknown email"})
		return nil
	}
	if err != nil {
		return err
	}
	return s.SendReset(ctx, u, meta)
}

// SendReset mails u a password-reset link (the forgot-password flow, or an
// administrator's request).
func (s *Service) SendReset(ctx context.Context, u authority.User, meta authority.Meta) error {
	if !s.mailLimit.allow(u.Email, s.core.Now()) {
		s.core.Audit(ctx, authority.Event{Type: authority.EventPasswordResetRequested, UserID: u.ID, IP: meta.IP, Detail: "mail rate limit reached; none sent"})
		return nil
	}
	tok, rec := s.newAccountToken(TokenReset, u.ID, u.Email, ResetTokenTTL)
	if err := s.store.CreateAccountToken(ctx, rec); err != nil {
		return err
	}
	if err := s.core.QueueMail(ctx, authority.Mail{Kind: "reset-password", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email,
		Link: s.link("/reset-password", tok), Expires: ResetTokenTTL}); err != nil {
		return err
	}
	actor := meta.Actor
	if actor == "" {
		actor = u.ID
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventPasswordResetRequested, Actor: actor, UserID: u.ID, IP: meta.IP, Detail: "reset link mailed"})
	return nil
}

// ResetPassword spends a reset token and sets a new password; every
// session of the user ends and every other pending link is cancelled. A
// token mailed to an address the account no longer has is
// ErrBadAccountToken, as an unknown one is.
func (s *Service) ResetPassword(ctx context.Context, token, password string, meta authority.Meta) error {
	if err := authority.ValidatePassword(password); err != nil {
		return err
	}
	rec, u, err := s.liveResetLink(ctx, token)
	if err != nil {
		return err
	}
	hash, err := s.core.HashPassword(ctx, password, meta)
	if err != nil {
		return err
	}
	now := s.core.Now().UTC()
	if err := s.store.UseAccountToken(ctx, rec.Hash, now); err != nil {
		return ErrBadAccountToken
	}
	if err := s.cancelAccountLinks(ctx, u.ID, now); err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return err
	}
	n, err := s.core.EndUserSessions(ctx, u.ID, "", now)
	if err != nil {
		return err
	}
	if err := s.store.ResetLoginThrottle(ctx, u.Email); err != nil {
		s.core.Log().Warn("login throttle not reset after password reset", "err", err)
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventPasswordReset, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: fmt.Sprintf("%d session(s) revoked", n)})
	s.notifyPasswordChanged(ctx, u)
	return nil
}

func (s *Service) notifyPasswordChanged(ctx context.Context, u authority.User) {
	if err := s.core.QueueMail(ctx, authority.Mail{Kind: "password-changed", To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
		s.core.Log().Warn("password-changed notice not queued", "user_id", u.ID, "err", err)
	}
}

// AdminSendReset mails the user a password-reset link.
func (s *Service) AdminSendReset(ctx context.Context, id string, meta authority.Meta) error {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	return s.SendReset(ctx, u, meta)
}
