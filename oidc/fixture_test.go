package oidc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/mfa"
)

// memStore is an in-memory store of users for the flow's decisions; the
// embedded stores are nil and only supply the methods a test never calls.
type memStore struct {
	authority.Store
	mfa.FactorStore
	mfa.WebAuthnStore
	RegistrationStore
	// DeviceStore is not used by these tests (the device grant is
	// tested on the real stores).
	DeviceStore
	mu        sync.Mutex
	users     map[string]authority.User
	resources []Resource
}

func newMemStore() *memStore { return &memStore{users: map[string]authority.User{}} }

// RecordEvent drops audit events.
func (m *memStore) RecordEvent(context.Context, authority.Event) error { return nil }

func (m *memStore) CreateResource(_ context.Context, r Resource) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.resources {
		if x.URI == r.URI {
			return ErrResourceTaken
		}
	}
	m.resources = append(m.resources, r)
	return nil
}

func (m *memStore) ResourceByURI(_ context.Context, uri string) (Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.resources {
		if x.URI == uri {
			return x, nil
		}
	}
	return Resource{}, authority.ErrNotFound
}

func (m *memStore) Resources(context.Context) ([]Resource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Resource{}, m.resources...), nil
}

func (m *memStore) DeleteResource(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, x := range m.resources {
		if x.ID == id {
			m.resources = append(m.resources[:i], m.resources[i+1:]...)
			return nil
		}
	}
	return authority.ErrNotFound
}

func (m *memStore) UserByID(_ context.Context, id string) (authority.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return authority.User{}, authority.ErrNotFound
	}
	return u, nil
}

// UserFactors reports no second factor: the fake's users have none.
func (m *memStore) UserFactors(context.Context, string) (mfa.Factors, error) {
	return mfa.Factors{}, nil
}

// ConsentedScopes reports no consent.
func (m *memStore) ConsentedScopes(context.Context, string, string) ([]string, error) {
	return nil, nil
}

func (m *memStore) CreateBrowserSession(context.Context, BrowserSession) error { return nil }
func (m *memStore) BrowserSessionByHash(context.Context, string) (BrowserSession, authority.User, error) {
	return BrowserSession{}, authority.User{}, authority.ErrNotFound
}
func (m *memStore) TouchBrowserSession(context.Context, string, time.Time) error { return nil }
func (m *memStore) ReauthBrowserSession(context.Context, string, string, time.Time, []string) error {
	return nil
}
func (m *memStore) BrowserSessionByID(context.Context, string) (BrowserSession, error) {
	return BrowserSession{}, authority.ErrNotFound
}
func (m *memStore) EndBrowserSession(context.Context, string, time.Time) (string, []string, error) {
	return "", nil, authority.ErrNotFound
}
func (m *memStore) CreateAuthCode(context.Context, AuthCode) error { return nil }
func (m *memStore) RedeemAuthCode(context.Context, string, time.Time, string, string, time.Time) (AuthCode, error) {
	return AuthCode{}, authority.ErrNotFound
}
func (m *memStore) GrantConsent(context.Context, string, string, []string, time.Time) error {
	return nil
}
func (m *memStore) Consents(context.Context, string) ([]Consent, error) { return nil, nil }
func (m *memStore) DeleteConsent(context.Context, string, string) error { return nil }

// newTestService returns the flow over st, on a core with one key of alg.
func newTestService(t testing.TB, st *memStore, alg keys.Alg, edit func(*authority.Config)) *Service {
	t.Helper()
	cfg := authority.Config{Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour,
		Argon2: authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}
	if edit != nil {
		edit(&cfg)
	}
	ring := keystest.Ring(t, alg, time.Now())
	core, err := authority.New(cfg, st, ring, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(core, mfa.New(core, st, mfa.Config{}), st, ring, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
