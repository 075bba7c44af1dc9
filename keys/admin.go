package keys

import (
	"context"
	"fmt"
)

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

func indexOf(recs []Record, kid string) int {
	for i, r := range recs {
		if r.KID == kid {
			return i
		}
	}
	return -1
}
