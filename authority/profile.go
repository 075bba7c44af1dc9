package authority

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Profile is the part of an account that /auth/me shows beyond the token.
type Profile struct {
	Name          string
	EmailVerified bool
}

// profileCache keeps recently seen profiles so /auth/me answers from
// memory, without a database read, and keeps answering while the database
// is away. It is bounded: when full it is emptied and refilled.
//
// An entry is trusted for profileFresh only: another instance on the same
// Postgres may have verified the email or renamed the user meanwhile, and
// this instance hears of it at the next read. A stale entry is still
// served while the database cannot be read.
type profileCache struct {
	mu sync.RWMutex
	m  map[string]cachedProfile
}

type cachedProfile struct {
	p  Profile
	at time.Time
}

const (
	profileCacheMax = 50_000
	profileFresh    = 10 * time.Second
)

// get returns the cached profile (the zero Profile if none) and whether it
// is still fresh at now.
func (c *profileCache) get(id string, now time.Time) (p Profile, fresh bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[id]
	return e.p, ok && now.Sub(e.at) < profileFresh
}

func (c *profileCache) put(id string, p Profile, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= profileCacheMax {
		c.m = make(map[string]cachedProfile)
	}
	c.m[id] = cachedProfile{p: p, at: now}
}

func (c *profileCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// Profile returns the profile of the user a verified token names. It reads
// the database only when the cached profile is missing or older than
// profileFresh; if the database is unavailable then, it answers with the
// cached profile, or with what the token itself says. A deleted user is
// ErrInvalidToken.
func (s *Service) Profile(ctx context.Context, c *Claims) (Profile, error) {
	now := s.now()
	cached, fresh := s.profiles.get(c.Subject, now)
	if fresh {
		return cached, nil
	}
	u, err := s.store.UserByID(ctx, c.Subject)
	switch {
	case errors.Is(err, ErrUnavailable):
		return cached, nil
	case errors.Is(err, ErrNotFound):
		return Profile{}, ErrInvalidToken
	case err != nil:
		return Profile{}, err
	}
	p := Profile{Name: u.Name, EmailVerified: u.EmailVerified}
	s.profiles.put(u.ID, p, now)
	return p, nil
}

// ForgetProfile drops the cached profile claims of the user, after a
// change of them (email verified or changed, account deleted).
func (s *Service) ForgetProfile(userID string) { s.profiles.forget(userID) }
