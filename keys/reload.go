package keys

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reload reads the key set and swaps in a new snapshot if it changed.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	now := m.now()
	cur := m.ring.Load()
	if cur != nil && cur.version == Version(recs, now) {
		if u := m.unusable.Load(); u != nil {
			return m.keySetProblem(u.err)
		}
		return nil
	}
	snap, err := Build(recs, m.sealer, now)
	if err == nil && snap.Active() == nil {
		err = ErrNoActiveKey
	}
	if err != nil {
		if cur != nil {
			// Verify with what the database publishes now, and sign
			// only if this instance's key is still the active one.
			m.ring.Store(BuildPublic(recs, now, cur.Active()))
			m.reloads()
		}
		return m.keySetProblem(err)
	}
	m.ring.Store(snap)
	m.reloads()
	if was := m.unusable.Swap(nil); was != nil {
		m.log.Info("signing keys usable again", "unusable_for", now.Sub(was.Since).Round(time.Millisecond))
	}
	m.log.Info("keyring loaded", "active_kid", snap.Active().KID, "alg", snap.Active().Alg, "published", len(snap.keys))
	return nil
}

// reloadAfterChange swaps in the snapshot of a change this process just
// committed. A failure is logged, not returned: the change stands, and the
// periodic reload heals the snapshot. A process that never loaded a
// snapshot (the command line) has none to refresh.
func (m *Manager) reloadAfterChange(ctx context.Context) {
	if m.ring.Load() == nil {
		return
	}
	m.logErr(m.Reload(context.WithoutCancel(ctx)), "reload keyring after change")
}

// Unusable describes a key set this instance cannot load: the active key
// cannot be unsealed with its key-encryption keys, or no key is active.
// The instance then verifies with the public keys the database publishes
// (revoked and expired keys drop out as on any reload), signs only if the
// key it signed with is still the active one (else token requests answer
// 503), and is not ready (GET /readyz answers 503 with the reason).
type Unusable struct {
	// Reason says what is wrong, naming kids and key-encryption key ids,
	// never key material.
	Reason string
	// Since is when the problem was first seen.
	Since time.Time

	err error
}

// Unusable returns the current key-set problem, or nil when the last
// reload that read the key set succeeded.
func (m *Manager) Unusable() *Unusable { return m.unusable.Load() }

// keySetProblem records that the key set read from the database cannot be
// loaded. A running instance logs it when it first appears or changes, not
// on every reload that meets it again; at start-up (no snapshot yet) the
// caller reports the returned error instead. Call with mu held.
func (m *Manager) keySetProblem(err error) error {
	reason := err.Error()
	if cur := m.unusable.Load(); cur == nil || cur.Reason != reason {
		m.unusable.Store(&Unusable{Reason: reason, Since: m.now(), err: err})
		if m.ring.Load() != nil {
			m.log.Error("signing keys unusable; verifying with the published keys, issuing no tokens unless this instance's key is still the active one, and reporting not ready", "err", reason)
		}
	}
	return fmt.Errorf("%w: %w", errKeySetReported, err)
}

// errKeySetReported marks a reload error keySetProblem has logged already.
var errKeySetReported = errors.New("key set unusable")

func (m *Manager) logErr(err error, what string) {
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errKeySetReported) {
		m.log.Warn(what+" failed", "err", err)
	}
}
