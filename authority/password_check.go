package authority

import (
	"context"
	"errors"
)

// CheckPassword verifies the password of the user a token names, at the
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
