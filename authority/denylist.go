package authority

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DeniedToken is a deny-list entry, kept until it expires: the jti of a
// revoked access token, or "sid:" and a revoked refresh-token family
// (every access token issued with it), or "client:" and a deleted client
// (every access token issued to it). Seq is its place in the database's
// sequence.
type DeniedToken struct {
	Seq       int64
	JTI       string
	ExpiresAt time.Time
	RevokedAt time.Time
}

// Deny-list keys other than a jti.
const (
	denyFamilyPrefix = "sid:"
	denyClientPrefix = "client:"
)

// denyList is this instance's copy of the deny list. Verify consults it on
// every call, so it lives in memory: a map read under a read lock. The
// database holds the list for every instance; a copy older than
// Config.DenyListRefresh is brought up to date by the next Verify, which
// reads only the entries after the sequence number this instance has
// settled (see settledSeq). No clock is compared with another instance's:
// an instance whose clock lags or leads misses nothing. A revocation made
// by this instance enters the copy at once; one made by another instance
// is honoured here within DenyListRefresh.
//
// Until the first load succeeds the copy knows nothing, and Verify answers
// ErrUnavailable rather than accept tokens that may be revoked.
type denyList struct {
	mu       sync.RWMutex
	keys     map[string]time.Time // key → expiry
	loadedAt time.Time            // clock time of the last successful load
	loaded   bool                 // a load has succeeded
	marks    []seqMark            // highest sequence number seen, by load
	loading  atomic.Bool
}

// seqMark records the highest sequence number seen by a load.
type seqMark struct {
	at  time.Time
	seq int64
}

// denySettle is how long after a load every sequence number it saw below
// its highest is known committed or abandoned: a writer takes its number
// inside a transaction bounded by the query timeout, so a number lower
// than a visible one belongs to a transaction that began earlier and ends
// within that bound. Loads read again from the highest number seen at
// least this long ago, so an entry committed out of order is not skipped.
const denySettle = 2 * time.Minute

// settledSeqLocked returns the sequence number after which the next load
// reads, and drops marks no longer needed. Call with mu held.
func (d *denyList) settledSeqLocked(now time.Time) int64 {
	var settled int64
	keep := 0
	for i, m := range d.marks {
		if now.Sub(m.at) >= denySettle {
			settled, keep = m.seq, i
		}
	}
	d.marks = d.marks[keep:]
	return settled
}

func (d *denyList) has(key string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.keys[key]
	return ok
}

func (d *denyList) add(key string, exp time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys == nil {
		d.keys = make(map[string]time.Time)
	}
	d.keys[key] = exp
}

// denied reports whether the access token c has been revoked: its jti, its
// refresh-token family or its client. It reloads the list first when it is
// stale. A failed load keeps the previous copy (and is retried by the next
// call): the database being away must not stop every verification. Before
// any load has succeeded it returns ErrUnavailable.
// Denied reports whether the access token of c is on the deny list,
// reloading the list when it is older than Config.DenyListRefresh.
func (s *Service) Denied(ctx context.Context, c *Claims) (bool, error) {
	return s.denied(ctx, c)
}

func (s *Service) denied(ctx context.Context, c *Claims) (bool, error) {
	now := s.now()
	s.deny.mu.RLock()
	stale := !s.deny.loaded || now.Sub(s.deny.loadedAt) >= s.cfg.DenyListRefresh || now.Before(s.deny.loadedAt)
	s.deny.mu.RUnlock()
	if stale && s.deny.loading.CompareAndSwap(false, true) {
		s.reloadDenyList(ctx, now)
		s.deny.loading.Store(false)
	}
	s.deny.mu.RLock()
	loaded := s.deny.loaded
	s.deny.mu.RUnlock()
	if !loaded {
		return false, fmt.Errorf("%w: the deny list of revoked tokens has not been loaded yet", ErrUnavailable)
	}
	if s.deny.has(c.ID) {
		return true, nil
	}
	if c.SessionID != "" && s.deny.has(denyFamilyPrefix+c.SessionID) {
		return true, nil
	}
	return c.ClientID != "" && s.deny.has(denyClientPrefix+c.ClientID), nil
}

// LoadDenyList loads the deny list now; serve calls it at start so the
// first requests need not.
func (s *Service) LoadDenyList(ctx context.Context) error {
	s.reloadDenyList(ctx, s.now())
	s.deny.mu.RLock()
	defer s.deny.mu.RUnlock()
	if !s.deny.loaded {
		return fmt.Errorf("%w: deny list not loaded", ErrUnavailable)
	}
	return nil
}

func (s *Service) reloadDenyList(ctx context.Context, now time.Time) {
	s.deny.mu.Lock()
	after := s.deny.settledSeqLocked(now)
	s.deny.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	entries, err := s.store.DeniedAfter(ctx, after, now.Add(-Leeway))
	if err != nil {
		s.log.Warn("access-token deny list not reloaded", "err", err)
		return
	}
	s.deny.mu.Lock()
	defer s.deny.mu.Unlock()
	if s.deny.keys == nil {
		s.deny.keys = make(map[string]time.Time, len(entries))
	}
	for key, exp := range s.deny.keys {
		if now.After(exp.Add(Leeway)) {
			delete(s.deny.keys, key)
		}
	}
	high := after
	if n := len(s.deny.marks); n > 0 {
		high = max(high, s.deny.marks[n-1].seq)
	}
	for _, e := range entries {
		s.deny.keys[e.JTI] = e.ExpiresAt
		high = max(high, e.Seq)
	}
	s.deny.marks = append(s.deny.marks, seqMark{at: now, seq: high})
	s.deny.loadedAt, s.deny.loaded = now, true
}

// denyFamily puts every access token issued with the refresh-token family
// on the deny list, for as long as any of them can live.
func (s *Service) denyFamily(ctx context.Context, family string) error {
	return s.denyKey(ctx, denyFamilyPrefix+family)
}

// DenyFamilies is denyFamily for each family, all attempted; it returns
// the first failure.
func (s *Service) DenyFamilies(ctx context.Context, families []string) error {
	var first error
	for _, f := range families {
		if err := s.denyFamily(ctx, f); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// denyKey puts key on the deny list for the longest access-token lifetime.
func (s *Service) denyKey(ctx context.Context, key string) error {
	now := s.now().UTC()
	until := now.Add(s.cfg.AccessTTL + Leeway)
	if err := s.store.DenyAccessToken(context.WithoutCancel(ctx), key, until, now); err != nil {
		return err
	}
	s.deny.add(key, until)
	return nil
}
