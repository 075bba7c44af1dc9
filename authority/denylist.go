package authority

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DeniedToken is a revoked access token: its jti, kept until it expires.
type DeniedToken struct {
	JTI       string
	ExpiresAt time.Time
	RevokedAt time.Time
}

// denyList is this instance's copy of the revoked-token list. Verify
// consults it on every call, so it lives in memory: a map read under a
// read lock. The database holds the list for every instance; a copy older
// than Config.DenyListRefresh is brought up to date by the next Verify,
// which reads only the entries revoked since the last load (with an
// overlap that absorbs clock skew between instances). A revocation made by
// this instance enters the copy at once; one made by another instance is
// honoured here within DenyListRefresh.
type denyList struct {
	mu       sync.RWMutex
	jtis     map[string]time.Time // jti → expiry
	loadedAt time.Time            // clock time of the last successful load
	loading  atomic.Bool
}

// denyOverlap is how far back each incremental load reaches before the
// previous one, so entries written by an instance whose clock lags, or
// committed late, are not missed.
const denyOverlap = 2 * time.Minute

func (d *denyList) has(jti string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.jtis[jti]
	return ok
}

func (d *denyList) add(jti string, exp time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jtis == nil {
		d.jtis = make(map[string]time.Time)
	}
	d.jtis[jti] = exp
}

// denied reports whether the access token jti has been revoked, reloading
// the list first when it is stale. A failed load keeps the previous copy
// (and is retried by the next call): the database being away must not
// stop every verification.
func (s *Service) denied(ctx context.Context, jti string) bool {
	now := s.now()
	s.deny.mu.RLock()
	stale := s.deny.loadedAt.IsZero() || now.Sub(s.deny.loadedAt) >= s.cfg.DenyListRefresh || now.Before(s.deny.loadedAt)
	s.deny.mu.RUnlock()
	if stale && s.deny.loading.CompareAndSwap(false, true) {
		s.reloadDenyList(ctx, now)
		s.deny.loading.Store(false)
	}
	return s.deny.has(jti)
}

func (s *Service) reloadDenyList(ctx context.Context, now time.Time) {
	s.deny.mu.RLock()
	since := time.Time{}
	if !s.deny.loadedAt.IsZero() {
		since = s.deny.loadedAt.Add(-denyOverlap)
	}
	s.deny.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	entries, err := s.store.DeniedSince(ctx, since, now.Add(-Leeway))
	if err != nil {
		s.log.Warn("access-token deny list not reloaded", "err", err)
		return
	}
	s.deny.mu.Lock()
	defer s.deny.mu.Unlock()
	if s.deny.jtis == nil {
		s.deny.jtis = make(map[string]time.Time, len(entries))
	}
	for jti, exp := range s.deny.jtis {
		if now.After(exp.Add(Leeway)) {
			delete(s.deny.jtis, jti)
		}
	}
	for _, e := range entries {
		s.deny.jtis[e.JTI] = e.ExpiresAt
	}
	s.deny.loadedAt = now
}
