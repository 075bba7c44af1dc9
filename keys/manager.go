package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
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

// Policy configures the lifecycle.
type Policy struct {
	Alg            Alg           // algorithm of keys created by the schedule
	RotationPeriod time.Duration // an active key older than this is replaced; 0 disables the schedule
	PublishAhead   time.Duration // how long a pending key is published before it signs
	TokenTTL       time.Duration // longest lifetime of a token signed by a key
}

// Validate checks the relations between the durations.
func (p Policy) Validate(jwksMaxAge time.Duration) error {
	if _, err := ParseAlg(string(p.Alg)); err != nil {
		return err
	}
	if p.RotationPeriod < 0 || p.PublishAhead < 0 || p.TokenTTL <= 0 {
		return errors.New("key durations must not be negative")
	}
	if p.RotationPeriod == 0 {
		return nil
	}
	if p.PublishAhead <= jwksMaxAge {
		return fmt.Errorf("SIGIL_PUBLISH_AHEAD (%s) must be greater than SIGIL_JWKS_MAX_AGE (%s), or resource servers may see tokens from a key they have not fetched", p.PublishAhead, jwksMaxAge)
	}
	if p.RotationPeriod <= p.PublishAhead {
		return fmt.Errorf("SIGIL_ROTATION_PERIOD (%s) must be greater than SIGIL_PUBLISH_AHEAD (%s)", p.RotationPeriod, p.PublishAhead)
	}
	return nil
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

// Rotate creates a key of alg ("" means the policy's) that signs from now on
// and retires the active key. Pending keys are withdrawn (they never signed,
// so they leave the JWKS at once): the schedule makes a new one relative to
// the new active key. The key pair is generated before the lock is taken,
// so concurrent rotations on many instances queue only for the write.
func (m *Manager) Rotate(ctx context.Context, alg Alg, actor, reason string) (Record, error) {
	if alg == "" {
		alg = m.policy.Alg
	}
	if _, err := ParseAlg(string(alg)); err != nil {
		return Record{}, err
	}
	nr, err := m.generate(ctx, alg)
	if err != nil {
		return Record{}, err
	}
	err = m.store.UpdateKeys(ctx, func(cur []Record) (Change, error) {
		now := m.now()
		var ch Change
		for _, r := range cur {
			switch r.State {
			case Active:
				ch.add(m.retire(r, now), event(EventKeyRetired, r.KID, actor, reason, now))
			case Pending:
				r.State, r.RetiredAt, r.ExpiresAt, r.Sealed = Retired, now, now, ""
				ch.add(r, event(EventKeyRetired, r.KID, actor, "pending key withdrawn by rotation", now))
			}
		}
		r := nr
		r.CreatedAt, r.State, r.ActivatedAt = now, Active, now
		ch.add(r, event(EventKeyActivated, r.KID, actor, reason, now))
		nr = r
		return ch, nil
	})
	if err != nil {
		return Record{}, err
	}
	nr.Sealed = ""
	m.reloadAfterChange(ctx)
	return nr, nil
}

// generate makes a new pending key of alg. Generations in one process run
// one at a time, so a burst of rotation requests (RSA key generation is
// CPU-heavy) cannot starve the transaction that holds the key lock.
func (m *Manager) generate(ctx context.Context, alg Alg) (Record, error) {
	select {
	case m.gen <- struct{}{}:
	case <-ctx.Done():
		return Record{}, ctx.Err()
	}
	defer func() { <-m.gen }()
	return NewRecord(alg, m.sealer, m.now())
}

// Revoke revokes kid: it leaves the JWKS at once and its tokens are
// rejected. Revoking the active key activates a replacement in the same
// transaction (the newest pending key if there is one, else a new key).
// Revoking a revoked key changes nothing and is not an error.
func (m *Manager) Revoke(ctx context.Context, kid, actor, reason string) (Record, error) {
	var out Record
	err := m.store.UpdateKeys(ctx, func(cur []Record) (Change, error) {
		now := m.now()
		i := indexOf(cur, kid)
		if i < 0 {
			return Change{}, ErrKeyNotFound
		}
		r := cur[i]
		if r.State == Revoked {
			out = r
			return Change{}, nil
		}
		wasActive := r.State == Active
		r.State, r.RevokedAt, r.Sealed = Revoked, now, ""
		if r.RetiredAt.IsZero() && wasActive {
			r.RetiredAt = now
		}
		out = r
		ch := Change{}
		ch.add(r, event(EventKeyRevoked, r.KID, actor, reason, now))
		if wasActive {
			rest := append(append([]Record(nil), cur[:i]...), cur[i+1:]...)
			repl, err := m.activateReplacement(rest, now, actor, "replaces revoked key "+kid)
			if err != nil {
				return Change{}, err
			}
			ch.Keys = append(ch.Keys, repl.Keys...)
			ch.Events = append(ch.Events, repl.Events...)
		}
		return ch, nil
	})
	if err != nil {
		return Record{}, err
	}
	out.Sealed = ""
	m.reloadAfterChange(ctx)
	return out, nil
}

// Rewrap re-seals every private key under the first key-encryption key and
// returns how many it changed.
func (m *Manager) Rewrap(ctx context.Context, actor string) (int, error) {
	n := 0
	err := m.store.UpdateKeys(ctx, func(cur []Record) (Change, error) {
		n = 0
		var ch Change
		for _, r := range cur {
			if r.Sealed == "" {
				continue
			}
			sealed, changed, err := m.sealer.Reseal(r.KID, r.Sealed)
			if err != nil {
				return Change{}, err
			}
			if changed {
				r.Sealed = sealed
				n++
				ch.add(r, event(EventKeyRewrapped, r.KID, actor, "sealed under key-encryption key "+m.sealer.PrimaryID(), m.now()))
			}
		}
		return ch, nil
	})
	if err != nil {
		return 0, err
	}
	m.reloadAfterChange(ctx)
	return n, nil
}

// List returns every key record, fresh from the store, with the sealed
// private halves removed.
func (m *Manager) List(ctx context.Context) ([]Record, error) {
	recs, err := m.store.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for i := range recs {
		recs[i].Sealed = ""
	}
	return recs, nil
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

// Due reports whether the scheduled step has work to do at now on the key
// set of the current snapshot; Step takes the lock only when it does.
func (m *Manager) Due() bool {
	snap := m.ring.Load()
	if snap == nil {
		return true
	}
	ch, err := m.plan(snap.planRecords(), m.now(), true)
	return err != nil || len(ch.Keys) > 0
}

// Step performs the scheduled lifecycle work due now, in one locked
// transaction: create and publish the next key when the active key nears
// the end of its period, activate a pending key once it has been published
// for PublishAhead, and destroy private keys nobody needs any more. It is
// safe to call from every instance: the one that gets the lock does the
// work and the others find nothing left to do.
func (m *Manager) Step(ctx context.Context) (bool, error) {
	changed := false
	err := m.store.UpdateKeys(ctx, func(cur []Record) (Change, error) {
		ch, err := m.plan(cur, m.now(), false)
		changed = len(ch.Keys) > 0
		return ch, err
	})
	if err != nil {
		return false, err
	}
	return changed, m.Reload(ctx)
}

// plan computes the scheduled step from cur. With dryRun, no key is
// generated (a placeholder record stands in for it).
func (m *Manager) plan(cur []Record, now time.Time, dryRun bool) (Change, error) {
	var ch Change
	const actor = "schedule"
	for _, r := range cur {
		switch {
		case r.State == Retired && r.Sealed != "" && !r.Published(now):
			r.Sealed = ""
			ch.add(r, event(EventKeyDestroyed, r.KID, actor, "retention ended: every token it signed has expired", now))
		case r.State == Revoked && r.Sealed != "":
			r.Sealed = ""
			ch.add(r, event(EventKeyDestroyed, r.KID, actor, "key was revoked", now))
		}
	}
	active := activeOf(cur)
	if active == nil {
		if dryRun {
			ch.Keys = append(ch.Keys, Record{})
			return ch, nil
		}
		repl, err := m.activateReplacement(cur, now, actor, "no active key")
		if err != nil {
			return Change{}, err
		}
		ch.Keys = append(ch.Keys, repl.Keys...)
		ch.Events = append(ch.Events, repl.Events...)
		return ch, nil
	}
	if m.policy.RotationPeriod <= 0 {
		return ch, nil
	}
	pending := newestPending(cur)
	switch {
	case pending == nil && !now.Before(active.ActivatedAt.Add(m.policy.RotationPeriod-m.policy.PublishAhead)):
		if dryRun {
			ch.Keys = append(ch.Keys, Record{})
			return ch, nil
		}
		nr, err := NewRecord(m.policy.Alg, m.sealer, now)
		if err != nil {
			return Change{}, err
		}
		ch.add(nr, event(EventKeyCreated, nr.KID, actor, "published ahead of scheduled rotation", now))
	case pending != nil && !now.Before(pending.CreatedAt.Add(m.policy.PublishAhead)):
		ch.add(m.retire(*active, now), event(EventKeyRetired, active.KID, actor, "scheduled rotation", now))
		p := *pending
		p.State, p.ActivatedAt = Active, now
		ch.add(p, event(EventKeyActivated, p.KID, actor, "scheduled rotation", now))
	}
	return ch, nil
}

// activateReplacement makes a new active key from the records without one:
// the newest pending key if any (it is already published), else a new key.
func (m *Manager) activateReplacement(cur []Record, now time.Time, actor, reason string) (Change, error) {
	var ch Change
	if p := newestPending(cur); p != nil {
		r := *p
		r.State, r.ActivatedAt = Active, now
		ch.add(r, event(EventKeyActivated, r.KID, actor, reason, now))
		return ch, nil
	}
	nr, err := NewRecord(m.policy.Alg, m.sealer, now)
	if err != nil {
		return Change{}, err
	}
	nr.State, nr.ActivatedAt = Active, now
	ch.add(nr, event(EventKeyActivated, nr.KID, actor, reason, now))
	return ch, nil
}

func (m *Manager) retire(r Record, now time.Time) Record {
	r.State, r.RetiredAt = Retired, now
	r.ExpiresAt = now.Add(m.policy.TokenTTL + Leeway)
	return r
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

func indexOf(recs []Record, kid string) int {
	for i, r := range recs {
		if r.KID == kid {
			return i
		}
	}
	return -1
}

func activeOf(recs []Record) *Record {
	for i := range recs {
		if recs[i].State == Active {
			return &recs[i]
		}
	}
	return nil
}

func newestPending(recs []Record) *Record {
	var ps []*Record
	for i := range recs {
		if recs[i].State == Pending {
			ps = append(ps, &recs[i])
		}
	}
	if len(ps) == 0 {
		return nil
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].CreatedAt.After(ps[j].CreatedAt) })
	return ps[0]
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

// Run keeps the keyring current until ctx ends: it reloads at once when
// notify fires (another instance changed the keys), every reloadEvery to
// heal a missed notification, and at the moment a retired key's retention
// ends (so it leaves the JWKS on time), and performs the scheduled step
// when one is due, checking every stepEvery.
func (m *Manager) Run(ctx context.Context, notify <-chan struct{}, reloadEvery, stepEvery time.Duration) {
	reload := time.NewTicker(reloadEvery)
	defer reload.Stop()
	step := time.NewTicker(stepEvery)
	defer step.Stop()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	for {
		expiry.Reset(m.untilNextExpiry(reloadEvery))
		select {
		case <-ctx.Done():
			return
		case <-notify:
			m.logErr(m.Reload(ctx), "reload keyring after notification")
		case <-reload.C:
			m.logErr(m.Reload(ctx), "periodic keyring reload")
		case <-expiry.C:
			m.logErr(m.Reload(ctx), "keyring reload at end of key retention")
		case <-step.C:
			if m.Due() {
				_, err := m.Step(ctx)
				m.logErr(err, "scheduled key step")
			}
		}
	}
}

// untilNextExpiry is how long until the next retired key of the current
// snapshot leaves the JWKS (a little after, so the clock has passed it), or
// max when none will before then.
func (m *Manager) untilNextExpiry(max time.Duration) time.Duration {
	snap := m.ring.Load()
	if snap == nil {
		return max
	}
	next, ok := snap.NextExpiry()
	if !ok {
		return max
	}
	d := next.Sub(m.now()) + 10*time.Millisecond
	switch {
	case d < 10*time.Millisecond:
		return 10 * time.Millisecond
	case d > max:
		return max
	}
	return d
}

func (m *Manager) logErr(err error, what string) {
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errKeySetReported) {
		m.log.Warn(what+" failed", "err", err)
	}
}
