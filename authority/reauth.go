package authority

import (
	"context"
	"errors"
	"time"
)

// RecentSignIn is how recent the sign-in of an account without a
// password must be for a sensitive change on the account page (a second
// factor, a passkey, a linked account, setting a password, deleting the
// account). An account with a password gives the password instead.
const RecentSignIn = 10 * time.Minute

// Reauth is what a signed-in user gives again before a sensitive change:
// the password, and the time the session signed in. SignedInAt counts
// only for an account without a password; an account with one always
// needs the password.
type Reauth struct {
	Password   string
	SignedInAt time.Time
}

// ErrSignInNotRecent: the account has no password and its sign-in is
// older than RecentSignIn; signing in again lets the change through. It
// is also an ErrInvalidCredentials, so a caller that knows only that one
// refuses as before.
var ErrSignInNotRecent error = signInNotRecent{}

type signInNotRecent struct{}

func (signInNotRecent) Error() string {
	return "authority: the account has no password and its sign-in is not recent"
}

func (signInNotRecent) Is(target error) bool { return target == ErrInvalidCredentials }

// SignInIsRecent says whether a sign-in at signedIn is within
// RecentSignIn of now. A zero time (unknown) is never recent, nor is one
// in the future by more than a clock's skew.
func SignInIsRecent(now, signedIn time.Time) bool {
	if signedIn.IsZero() {
		return false
	}
	age := now.Sub(signedIn)
	return age <= RecentSignIn && age > -time.Minute
}

// Reauthenticate checks re for the user userID: the password of an
// account that has one (as CheckPassword, under its login throttle), or
// for an account without a password a recent sign-in (SignInIsRecent,
// else ErrSignInNotRecent).
func (s *Service) Reauthenticate(ctx context.Context, userID string, re Reauth, meta Meta) (User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrInvalidToken
	}
	if err != nil {
		return User{}, err
	}
	if u.PasswordHash != "" {
		return s.CheckPassword(ctx, userID, re.Password, meta)
	}
	if !SignInIsRecent(s.Now(), re.SignedInAt) {
		return User{}, ErrSignInNotRecent
	}
	return u, nil
}
