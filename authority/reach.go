package authority

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// EndUserSessions ends every session of the user but except (a browser
// session or a refresh-token family the request came from; empty for
// none) and denies every access token issued in them: those of its
// refresh-token families, and those that authorization codes issued,
// with or without a refresh token. Every path that must end "all of a
// user's tokens" goes through here (lock, delete, password change or
// reset, role removal, sign out everywhere), so that none misses a kind
// of token. It returns how many sessions ended.
func (s *Service) EndUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error) {
	fams, n, err := s.store.RevokeUserSessions(ctx, userID, except, at)
	if err != nil {
		return 0, err
	}
	return n, s.DenyFamilies(ctx, fams)
}

// CheckAdmin re-reads the account a verified administrator's token names,
// so that a token keeps no power its user has lost since it was issued:
// ErrInvalidToken when the account is gone or locked, ErrNotAdmin when it
// no longer has the admin role. The admin API and the console ask on
// every request, ahead of the deny list that ends such tokens within a
// second.
func (s *Service) CheckAdmin(ctx context.Context, userID string) error {
	u, err := s.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: the account no longer exists", ErrInvalidToken)
	}
	if err != nil {
		return err
	}
	if u.Locked {
		return fmt.Errorf("%w: the account is locked", ErrInvalidToken)
	}
	if !u.Admin {
		return ErrNotAdmin
	}
	return nil
}
