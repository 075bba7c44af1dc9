package account

import (
	"context"
	"fmt"

	"github.com/sigil-auth/sigil/authority"
)

// Sessions lists the user's live sessions.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	return s.store.UserSessions(ctx, userID, s.core.Now().UTC())
}

// RevokeSession ends one of the user's sessions; authority.ErrNotFound if the user
// has no such live session.
func (s *Service) RevokeSession(ctx context.Context, userID, id string, meta authority.Meta) error {
	fams, err := s.store.RevokeUserSession(ctx, userID, id, s.core.Now().UTC())
	if err != nil {
		return err
	}
	if err := s.core.DenyFamilies(ctx, fams); err != nil {
		return err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventSessionRevoked, Actor: userID, UserID: userID, IP: meta.IP, Detail: "session " + id})
	return nil
}

// RevokeAllSessions ends every session of the user.
func (s *Service) RevokeAllSessions(ctx context.Context, userID string, meta authority.Meta) error {
	n, err := s.core.EndUserSessions(ctx, userID, "", s.core.Now().UTC())
	if err != nil {
		return err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventSessionRevokedAll, Actor: userID, UserID: userID, IP: meta.IP, Detail: fmt.Sprintf("%d session(s) revoked", n)})
	return nil
}
