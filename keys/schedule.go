package keys

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

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
