package authority

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
)

// memStore is an in-memory Store. When gate is set, UserByEmail reports on
// entered and waits for gate to close, so a test can hold a login at a
// known point.
type memStore struct {
	// Store is nil: it only supplies the methods a test never calls, so
	// the fake keeps compiling as the interface grows.
	Store
	mu      sync.Mutex
	users   map[string]User
	tokens  int
	denyErr error // DeniedAfter fails with it when set
	gate    chan struct{}
	entered chan struct{}
}

func newMemStore() *memStore { return &memStore{users: map[string]User{}} }

// holdLookups makes the next lookups wait until the returned function is
// called; entered receives one value per lookup that started waiting.
func (m *memStore) holdLookups() (entered <-chan struct{}, release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gate = make(chan struct{})
	m.entered = make(chan struct{}, 16)
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

func (m *memStore) CreateUser(ctx context.Context, u User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if x.Email == u.Email {
			return ErrEmailTaken
		}
	}
	m.users[u.ID] = u
	return nil
}

func (m *memStore) UserByEmail(ctx context.Context, email string) (User, error) {
	m.mu.Lock()
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
	return User{}, ErrNotFound
}

func (m *memStore) UserByID(ctx context.Context, id string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (m *memStore) ReplacePasswordHash(ctx context.Context, id, old, new string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok || u.PasswordHash != old {
		return ErrConflict
	}
	u.PasswordHash = new
	m.users[id] = u
	return nil
}

func (m *memStore) AdminExists(ctx context.Context) (bool, error) { return false, nil }

func (m *memStore) CreateRefreshToken(ctx context.Context, t RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens++
	return nil
}

func (m *memStore) RecordEvent(ctx context.Context, e Event) error { return nil }

// DeniedAfter reports an empty deny list (Verify reloads it every second),
// or fails with denyErr.
func (m *memStore) DeniedAfter(ctx context.Context, after int64, notExpiredAt time.Time) ([]DeniedToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return nil, m.denyErr
}

// cheapArgon2 keeps tests fast; the production cost has its own benchmark.
var cheapArgon2 = Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// newTestService returns a Service over st signing with EdDSA; edit
// adjusts its configuration.
func newTestService(t testing.TB, st Store, alg keys.Alg, edit func(*Config)) *Service {
	t.Helper()
	cfg := Config{Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour, Argon2: cheapArgon2}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, st, keystest.Ring(t, alg, time.Now()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetSecondFactorGate(noFactors{})
	return s
}

// noFactors is the second-factor gate of the tests' services: the fake's
// users have none, and no role requires one.
type noFactors struct{}

func (noFactors) Gate(context.Context, User, []string, Meta) error { return nil }
