package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/inspect"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/mfa"
)

// memStore is an in-memory authority.Store for the HTTP layer's tests and
// benchmarks. While held, UserByEmail reports on entered and waits.
// accountStore names account.Store for embedding beside authority.Store.
type accountStore = account.Store

type memStore struct {
	// Store is nil: it only supplies the methods a test never calls, so
	// the fake keeps compiling as the interface grows.
	authority.Store
	mfa.FactorStore
	mfa.WebAuthnStore
	accountStore
	mu      sync.Mutex
	users   map[string]authority.User
	gate    chan struct{}
	entered chan struct{}
	looked  int // UserByEmail calls
}

// lookups returns how many times UserByEmail was called.
func (m *memStore) lookups() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.looked
}

func newMemStore() *memStore { return &memStore{users: map[string]authority.User{}} }

func (m *memStore) holdLookups() (<-chan struct{}, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gate, m.entered = make(chan struct{}), make(chan struct{}, 16)
	gate := m.gate
	var once sync.Once
	return m.entered, func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			close(gate)
			m.gate = nil
		})
	}
}

func (m *memStore) CreateUser(ctx context.Context, u authority.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if x.Email == u.Email {
			return authority.ErrEmailTaken
		}
	}
	m.users[u.ID] = u
	return nil
}

func (m *memStore) UserByEmail(ctx context.Context, email string) (authority.User, error) {
	m.mu.Lock()
	m.looked++
	gate, entered := m.gate, m.entered
	m.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Email == email {
			return u, nil
		}
	}
	return authority.User{}, authority.ErrNotFound
}

func (m *memStore) UserByID(ctx context.Context, id string) (authority.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.users[id]; ok {
		return u, nil
	}
	return authority.User{}, authority.ErrNotFound
}

func (m *memStore) ReplacePasswordHash(ctx context.Context, id, old, new string) error { return nil }
func (m *memStore) AdminExists(ctx context.Context) (bool, error)                      { return false, nil }
func (m *memStore) CreateRefreshToken(ctx context.Context, t authority.RefreshToken) error {
	return nil
}
func (m *memStore) RecordEvent(ctx context.Context, e authority.Event) error { return nil }
func (m *memStore) Ready(ctx context.Context) error                          { return nil }

// DeniedAfter reports an empty deny list: Verify reloads it every second.
func (m *memStore) DeniedAfter(ctx context.Context, after int64, notExpiredAt time.Time) ([]authority.DeniedToken, error) {
	return nil, nil
}

// newTestServer wires a Server over st with one active key of alg; edit
// adjusts the authority's configuration.
func newTestServer(t testing.TB, st *memStore, alg keys.Alg, edit func(*authority.Config)) (*Server, *authority.Service) {
	t.Helper()
	ring := keystest.Ring(t, alg, time.Now())
	cfg := authority.Config{
		Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour,
		Argon2: authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	}
	if edit != nil {
		edit(&cfg)
	}
	auth, err := authority.New(cfg, st, ring, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	km := keys.NewManager(nil, nil, ring, keys.Policy{Alg: alg}, nil, nil)
	d := Services{Auth: auth, Factors: mfa.New(auth, st, mfa.Config{}), Accounts: account.New(auth, st), Inspect: inspect.New(auth, ring), Keys: km}
	return New(Config{Issuer: cfg.Issuer, JWKSMaxAge: 5 * time.Minute}, d, st, nil, nil), auth
}

// UserFactors reports no second factor: the fake's users have none.
func (m *memStore) UserFactors(context.Context, string) (mfa.Factors, error) {
	return mfa.Factors{}, nil
}

// ResetLoginThrottle forgets nothing: the fake keeps no throttle.
func (m *memStore) ResetLoginThrottle(context.Context, string) error { return nil }
