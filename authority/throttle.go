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
	// InFlight counts attempts reserved and not yet settled.
	InFlight int
}

// AttemptOutcome is how a reserved login attempt ended.
type AttemptOutcome int

const (
	// AttemptUnjudged: the password was never checked (the hashing gate
	// refused the attempt, or the database failed).
	AttemptUnjudged AttemptOutcome = iota
	// AttemptFailed: a wrong password (or code), or an unknown email.
	AttemptFailed
	// AttemptSucceeded: the password (or code) matched.
	AttemptSucceeded
)

// ThrottleStore keeps failed-login counts per normalised email, in the
// database so that every instance agrees.
type ThrottleStore interface {
	// LoginThrottle returns the state of email (zero if never seen).
	LoginThrottle(ctx context.Context, email string) (Throttle, error)
	// RecordLoginFailure atomically adds one failure for email and stores
	// lockUntil(new count) as its lock; it returns the new state.
	RecordLoginFailure(ctx context.Context, email string, at time.Time, lockUntil func(failures int) time.Time) (Throttle, error)
	// ReserveLoginAttempt atomically reads the state of key, asks admit
	// whether one more attempt may start, and if so counts it in flight;
	// concurrent reservations (from any instance) take turns, so each
	// sees the ones before it. In-flight counts last reserved before
	// staleBefore are forgotten. It returns the state admit saw (with the
	// new attempt counted when admitted) and whether it was admitted.
	ReserveLoginAttempt(ctx context.Context, key string, at, staleBefore time.Time, admit func(Throttle) bool) (Throttle, bool, error)
	// SettleLoginAttempt ends a reserved attempt: a failure is counted
	// and stored with lockUntil(new count) as its lock, a success resets
	// the failures, and an unjudged attempt only leaves the in-flight
	// count. It returns the new state.
	SettleLoginAttempt(ctx context.Context, key string, at time.Time, outcome AttemptOutcome, lockUntil func(failures int) time.Time) (Throttle, error)
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

// staleAttempt is how long an attempt counts in flight at most: longer
// than any attempt takes (the hashing queue wait, one hash, a few
// queries), so a count left by a process that stopped mid-attempt is
// forgotten after it.
const staleAttempt = time.Minute

// attempt is one login (or second-factor) attempt reserved against the
// throttle of its key; settle ends it.
type Attempt struct {
	key      string
	reserved bool
	// failures is the count of failures when the attempt was reserved.
	failures int
}

// admitAttempt decides whether one more attempt on a key may start. The
// attempts in flight count with the failures, so parallel guesses can
// never have more passwords judged than the threshold allows; once a
// lock has run out, attempts go one at a time (each failure renews the
// lock).
func admitAttempt(t Throttle, threshold int, now time.Time) bool {
	if now.Before(t.LockedUntil) {
		return false
	}
	if t.Failures >= threshold {
		return t.InFlight == 0
	}
	return t.Failures+t.InFlight < threshold
}

// reserveAttempt refuses an attempt on a locked key, or one that would
// take the attempts in flight and the failures past the threshold, before
// any password is hashed; otherwise it counts the attempt in flight, in
// the database, so every instance sees it. It runs for unknown emails
// exactly as for known ones. The caller settles the attempt.
func (s *Service) ReserveAttempt(ctx context.Context, key string, meta Meta) (*Attempt, error) {
	threshold := s.cfg.LockoutThreshold
	if threshold <= 0 {
		return &Attempt{key: key}, nil
	}
	now := s.now()
	t, ok, err := s.store.ReserveLoginAttempt(ctx, key, now, now.Add(-staleAttempt), func(t Throttle) bool {
		return admitAttempt(t, threshold, now)
	})
	if err != nil {
		return nil, err
	}
	if ok {
		return &Attempt{key: key, reserved: true, failures: t.Failures}, nil
	}
	if now.Before(t.LockedUntil) {
		s.audit(ctx, Event{Type: EventLoginThrottled, IP: meta.IP,
			Detail: fmt.Sprintf("login refused: %d failed logins in a row, locked until %s", t.Failures, t.LockedUntil.UTC().Format(time.RFC3339))})
		return nil, &ThrottledError{RetryAfter: t.LockedUntil.Sub(now), Reason: "account"}
	}
	s.audit(ctx, Event{Type: EventLoginThrottled, IP: meta.IP,
		Detail: fmt.Sprintf("login refused: %d attempts in flight after %d failed logins in a row", t.InFlight, t.Failures)})
	return nil, &ThrottledError{RetryAfter: time.Second, Reason: "account"}
}

// settle ends a reserved attempt with its outcome and returns the new
// state; settling twice, or an attempt never reserved, does nothing. It
// runs even when the request's context has ended, so the in-flight count
// does not wait for staleAttempt.
func (s *Service) SettleAttempt(ctx context.Context, a *Attempt, outcome AttemptOutcome) (Throttle, error) {
	if a == nil || !a.reserved {
		return Throttle{}, nil
	}
	a.reserved = false
	now := s.now()
	return s.store.SettleLoginAttempt(context.WithoutCancel(ctx), a.key, now, outcome, func(n int) time.Time {
		if d := LockoutFor(n, s.cfg.LockoutThreshold); d > 0 {
			return now.Add(d)
		}
		return time.Time{}
	})
}

// abandon settles an attempt that was never judged, if it is still open.
func (s *Service) AbandonAttempt(ctx context.Context, a *Attempt) {
	if a == nil || !a.reserved {
		return
	}
	if _, err := s.SettleAttempt(ctx, a, AttemptUnjudged); err != nil {
		s.log.Warn("login attempt not settled", "err", err)
	}
}

// loginFailed counts a failed login on email (an account or not) and
// records the lock when this failure starts or extends one.
func (s *Service) loginFailed(ctx context.Context, a *Attempt, userID string, meta Meta, detail string) error {
	s.audit(ctx, Event{Type: EventLoginFailure, UserID: userID, IP: meta.IP, Detail: detail})
	t, err := s.SettleAttempt(ctx, a, AttemptFailed)
	if err != nil {
		return err
	}
	if !t.LockedUntil.IsZero() {
		s.audit(ctx, Event{Type: EventAccountLocked, UserID: userID, IP: meta.IP,
			Detail: fmt.Sprintf("%d failed logins in a row; locked for %s", t.Failures, t.LockedUntil.Sub(s.now()))})
	}
	return ErrInvalidCredentials
}
