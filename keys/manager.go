package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of key operations.
var (
	ErrKeyNotFound    = errors.New("key not found")
	ErrKeyRevoked     = errors.New("key is revoked")
	ErrNoActiveKey    = errors.New("no active signing key")
	ErrMultipleActive = errors.New("more than one active key")
)

// Leeway is the clock skew allowed when checking exp and nbf; a retired key
// stays published for the longest token lifetime plus this.
const Leeway = 60 * time.Second

// Event describes one key change for the audit log: what happened to which
// key, when (by the manager's clock), who did it and why.
type Event struct {
	Type   string // one of the EventKey* constants
	KID    string
	Actor  string // "schedule", "cli", "system" (start-up), or the id of the admin user
	Reason string
	At     time.Time
}

// Change is what an update writes: key records (inserted or updated by KID)
// and the audit events that explain them.
type Change struct {
	Keys   []Record
	Events []Event
}

// Store persists key records. UpdateKeys runs fn in one transaction that
// holds an exclusive lock on the key set (an advisory lock on Postgres), so
// concurrent writers on every instance serialise, and notifies the other
// instances after a change.
type Store interface {
	ListKeys(ctx context.Context) ([]Record, error)
	UpdateKeys(ctx context.Context, fn func(current []Record) (Change, error)) error
}

// Manager drives the key lifecycle and keeps a Ring current.
type Manager struct {
	store  Store
	sealer *Sealer
	ring   *Ring
	policy Policy
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex    // serialises reloads within this process
	reloads func()        // called after each snapshot swap (metrics)
	gen     chan struct{} // one key generation at a time per process

	// unusable is set while the key set in the database cannot be loaded
	// (see Unusable); written under mu.
	unusable atomic.Pointer[Unusable]
}

// NewManager returns a Manager. now is the clock; nil means time.Now.
func NewManager(store Store, sealer *Sealer, ring *Ring, policy Policy, now func() time.Time, log *slog.Logger) *Manager {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{store: store, sealer: sealer, ring: ring, policy: policy, now: now, log: log, reloads: func() {}, gen: make(chan struct{}, 1)}
}

// OnReload registers f to be called after every keyring swap.
func (m *Manager) OnReload(f func()) { m.reloads = f }

// Ring returns the keyring the manager keeps current.
func (m *Manager) Ring() *Ring { return m.ring }

// Policy returns the lifecycle policy.
func (m *Manager) Policy() Policy { return m.policy }

// Bootstrap makes sure an active key exists, creating one of the policy's
// algorithm on an empty database, and loads the keyring. It fails, naming
// the kid, when the active key cannot be unsealed.
func (m *Manager) Bootstrap(ctx context.Context, actor string) error {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	if countState(recs, Active) == 0 {
		err := m.store.UpdateKeys(ctx, func(cur []Record) (Change, error) {
			if countState(cur, Active) > 0 {
				return Change{}, nil
			}
			return m.activateReplacement(cur, m.now(), actor, "no active key")
		})
		if err != nil {
			return fmt.Errorf("create first signing key: %w", err)
		}
	}
	return m.Reload(ctx)
}

func event(typ, kid, actor, reason string, at time.Time) Event {
	return Event{Type: typ, KID: kid, Actor: actor, Reason: reason, At: at}
}

func (c *Change) add(r Record, e Event) {
	c.Keys = append(c.Keys, r)
	c.Events = append(c.Events, e)
}

func countState(recs []Record, s State) int {
	n := 0
	for _, r := range recs {
		if r.State == s {
			n++
		}
	}
	return n
}

// CheckInvariants verifies the invariants of a key set that do not depend
// on time: exactly one active key, and no private key kept for a revoked
// key. The store checks it before every commit.
func CheckInvariants(recs []Record) error {
	switch n := countState(recs, Active); {
	case n == 0:
		return ErrNoActiveKey
	case n > 1:
		return ErrMultipleActive
	}
	for _, r := range recs {
		if r.State == Revoked && r.Sealed != "" {
			return fmt.Errorf("revoked key %s still has its private key", r.KID)
		}
	}
	return nil
}
