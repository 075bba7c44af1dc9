package authority

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Throttle is the failed-login state of one normalised email.
type Throttle struct {
	// Failures counts failed logins in a row.
	Failures int
	// LockedUntil is when attempts are accepted again (zero: not locked).
	LockedUntil time.Time
}

// ThrottleStore keeps failed-login counts per normalised email, in the
// database so that every instance agrees.
type ThrottleStore interface {
	// LoginThrottle returns the state of email (zero if never seen).
	LoginThrottle(ctx context.Context, email string) (Throttle, error)
	// RecordLoginFailure atomically adds one failure for email and stores
	// lockUntil(new count) as its lock; it returns the new state.
	RecordLoginFailure(ctx context.Context, email string, at time.Time, lockUntil func(failures int) time.Time) (Throttle, error)
	// ResetLoginThrottle forgets the failures of email.
	ResetLoginThrottle(ctx context.Context, email string) error
}

// Lockout durations: the first lock lasts LockoutBase and each further
// failure doubles it, up to LockoutMax.
const (
	LockoutBase = time.Minute
	LockoutMax  = 15 * time.Minute
)

// ErrThrottled is the kind of a ThrottledError.
var ErrThrottled = errors.New("too many attempts")

// ThrottledError refuses a request for a while: an account locked after
// failed logins, or a client over its request rate.
type ThrottledError struct {
	RetryAfter time.Duration
	Reason     string // "account" or "rate"
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v (%s); retry after %s", ErrThrottled, e.Reason, e.RetryAfter)
}

// Is makes errors.Is(err, ErrThrottled) hold.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// LockoutFor returns how long an email is refused after failures failed
// logins in a row with the given threshold: nothing below the threshold,
// then LockoutBase doubling per further failure, at most LockoutMax.
func LockoutFor(failures, threshold int) time.Duration {
	if threshold <= 0 || failures < threshold {
		return 0
	}
	d := LockoutBase
	for i := threshold; i < failures && d < LockoutMax; i++ {
		d *= 2
	}
	return min(d, LockoutMax)
}

// checkThrottle refuses an attempt on a locked email before any password
// is hashed. It runs for unknown emails exactly as for known ones.
func (s *Service) checkThrottle(ctx context.Context, email string, meta Meta) (Throttle, error) {
	if s.cfg.LockoutThreshold <= 0 {
		return Throttle{}, nil
	}
	t, err := s.store.LoginThrottle(ctx, email)
	if err != nil {
		return Throttle{}, err
	}
	now := s.now()
	if !now.Before(t.LockedUntil) {
		return t, nil
	}
	s.audit(ctx, Event{Type: "login.throttled", IP: meta.IP,
		Detail: fmt.Sprintf("login refused: %d failed logins in a row, locked until %s", t.Failures, t.LockedUntil.UTC().Format(time.RFC3339))})
	return t, &ThrottledError{RetryAfter: t.LockedUntil.Sub(now), Reason: "account"}
}

// loginFailed counts a failed login on email (an account or not) and
// records the lock when this failure starts or extends one.
func (s *Service) loginFailed(ctx context.Context, email, userID string, meta Meta, detail string) error {
	s.audit(ctx, Event{Type: "login.failure", UserID: userID, IP: meta.IP, Detail: detail})
	if s.cfg.LockoutThreshold <= 0 {
		return ErrInvalidCredentials
	}
	now := s.now()
	t, err := s.store.RecordLoginFailure(ctx, email, now, func(n int) time.Time {
		if d := LockoutFor(n, s.cfg.LockoutThreshold); d > 0 {
			return now.Add(d)
		}
		return time.Time{}
	})
	if err != nil {
		return err
	}
	if !t.LockedUntil.IsZero() {
		s.audit(ctx, Event{Type: "account.locked", UserID: userID, IP: meta.IP,
			Detail: fmt.Sprintf("%d failed logins in a row; locked for %s", t.Failures, t.LockedUntil.Sub(now))})
	}
	return ErrInvalidCredentials
}
