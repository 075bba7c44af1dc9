package upstream

import (
	"context"
	"sync"
	"time"
)

// ListedTTL is how long the sign-in and sign-up pages reuse the list of
// upstreams they show as buttons. Every GET /login read the table before;
// under a flood of the page that read was a cost of its own. A change
// made through this instance shows at once; one made through another
// instance of the same database (or the CLI) within ListedTTL. Sign-ins
// themselves always read the upstream afresh.
const ListedTTL = 5 * time.Second

type listed struct {
	mu   sync.Mutex
	at   time.Time
	list []Upstream
}

// Listed lists the upstreams for the hosted pages, oldest first, from a
// copy at most ListedTTL old. The caller must not change what it gets.
func (s *Service) Listed(ctx context.Context) ([]Upstream, error) {
	now := s.cfg.Now()
	s.listed.mu.Lock()
	if !s.listed.at.IsZero() && now.Sub(s.listed.at) < ListedTTL && !now.Before(s.listed.at) {
		us := s.listed.list
		s.listed.mu.Unlock()
		return us, nil
	}
	s.listed.mu.Unlock()
	us, err := s.cfg.Store.Upstreams(ctx)
	if err != nil {
		return nil, err
	}
	s.listed.mu.Lock()
	s.listed.list, s.listed.at = us, now
	s.listed.mu.Unlock()
	return us, nil
}

// forgetListed drops the pages' copy after a change through this instance.
func (s *Service) forgetListed() {
	s.listed.mu.Lock()
	s.listed.list, s.listed.at = nil, time.Time{}
	s.listed.mu.Unlock()
}
