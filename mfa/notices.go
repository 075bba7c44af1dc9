package mfa

import (
	"context"
	"errors"
	"strconv"

	"github.com/sigil-auth/sigil/authority"
)

// What a change of the user's second factors asks and tells: adding one
// (or taking a passkey off) needs the account's password, not only a
// session or an access token, and every factor added or removed mails the
// user a notice, so that a change they did not make does not go
// unnoticed.

// Kinds of mail that tell a user of a change of their second factors
// (templates of package mail).
const (
	MailFactorAdded   = "factor-added"
	MailFactorRemoved = "factor-removed"
)

// Factors as the notices name them.
const (
	factorTOTP          = "an authenticator app (TOTP), with ten recovery codes"
	factorTOTPRemoved   = "the authenticator app (TOTP) and its recovery codes"
	factorRecoveryCodes = "ten new recovery codes (the earlier ones no longer work)"
)

func factorPasskey(article, name string) string {
	return article + " passkey or security key named " + strconv.Quote(name)
}

// checkFactorPassword is checkPassword for a change of the user's second
// factors: a wrong password is also an mfa.failure event saying what it
// was for.
func (s *Service) checkFactorPassword(ctx context.Context, userID string, re authority.Reauth, what string, meta authority.Meta) (authority.User, error) {
	u, err := s.core.Reauthenticate(ctx, userID, re, meta)
	if errors.Is(err, authority.ErrInvalidCredentials) && !errors.Is(err, authority.ErrSignInNotRecent) {
		s.core.Audit(ctx, authority.Event{Type: authority.EventMFAFailure, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: "wrong password to " + what})
	}
	return u, err
}

// notifyFactor mails the user that factor was added (kind
// MailFactorAdded) or removed (MailFactorRemoved). The change is made
// already: a notice that cannot be queued is logged, not an error.
func (s *Service) notifyFactor(ctx context.Context, userID, kind, factor string) {
	u, err := s.store.UserByID(ctx, userID)
	if err == nil {
		err = s.core.QueueMail(ctx, authority.Mail{Kind: kind, To: u.Email, UserID: u.ID, Name: u.Name, Email: u.Email, Factor: factor})
	}
	if err != nil {
		s.core.Log().Warn("second-factor notice not queued", "kind", kind, "user_id", userID, "err", err)
	}
}
