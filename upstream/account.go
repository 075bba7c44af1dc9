package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigil-auth/sigil/authority"
)

// ErrLinkedElsewhere: the identity a signed-in user brought back from
// the upstream is linked to another account; nothing changed.
var ErrLinkedElsewhere = errors.New("upstream: this identity is linked to another account")

// BeginLink starts a sign-in at upstream id whose callback links the
// identity to the signed-in user userID, whatever its email says: the
// callback must come back to a browser signed in as that user. The
// caller checks first that the user signed in recently enough. It is a
// re-authentication: the upstream must sign the user in anew (see Begin).
func (s *Service) BeginLink(ctx context.Context, id, userID string, meta authority.Meta) (Started, error) {
	if userID == "" {
		return Started{}, ErrBadState
	}
	return s.begin(ctx, id, "", userID, true, meta)
}

// linkSignedIn links what upstream u vouched for to the user userID. An
// identity of another user is refused (ErrLinkedElsewhere), one of this
// user says so (Result.AlreadyLinked).
func (s *Service) linkSignedIn(ctx context.Context, u Upstream, c Claims, userID string, meta authority.Meta) (Result, error) {
	user, err := s.cfg.Core.UserByID(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	idn, err := s.cfg.Store.IdentityBySubject(ctx, u.ID, c.Subject)
	switch {
	case err == nil && idn.UserID == userID:
		return Result{User: user, AlreadyLinked: true, outcome: OutcomeLinked}, nil
	case err == nil:
		return Result{}, ErrLinkedElsewhere
	case !errors.Is(err, authority.ErrNotFound):
		return Result{}, err
	}
	email, err := authority.NormalizeEmail(c.Email)
	if err != nil {
		email = "" // the link does not depend on the email; it is only shown
	}
	idn = Identity{UpstreamID: u.ID, Subject: c.Subject, UserID: userID, Email: email, CreatedAt: s.cfg.Now().UTC()}
	err = s.link(ctx, idn, meta, "while signed in, on the account page")
	if errors.Is(err, ErrIdentityTaken) {
		// Linked meanwhile by another sign-in: whose is it?
		if again, gerr := s.cfg.Store.IdentityBySubject(ctx, u.ID, c.Subject); gerr == nil && again.UserID == userID {
			return Result{User: user, AlreadyLinked: true, outcome: OutcomeLinked}, nil
		}
		return Result{}, ErrLinkedElsewhere
	}
	if err != nil {
		return Result{}, err
	}
	return Result{User: user, outcome: OutcomeLinked}, nil
}

// Unlink removes the identity (upstreamID, subject) of the user, unless
// it is the user's last way to sign in (ErrLastSignIn: no password and
// no other identity; passkeys do not count, as one registered without a
// discoverable credential cannot sign in alone). authority.ErrNotFound
// when the user has no such identity. The next sign-in through that
// identity goes through the linking rules again.
func (s *Service) Unlink(ctx context.Context, userID, upstreamID, subject string, meta authority.Meta) error {
	if !ValidID(upstreamID) || subject == "" || len(subject) > 500 {
		return authority.ErrNotFound
	}
	if err := s.cfg.Store.UnlinkIdentity(ctx, userID, upstreamID, subject); err != nil {
		return err
	}
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamUnlinked, Actor: userID, UserID: userID, IP: meta.IP,
		Detail: fmt.Sprintf("upstream %s identity %.200s unlinked on the account page", upstreamID, subject)})
	return nil
}
