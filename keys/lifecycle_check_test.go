package keys_test

import (
	"errors"
	"sort"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store"
)

// check verifies every invariant at the current fake time, on both
// instances.
func (r *lifecycleRun) check(when string) {
	t := r.t
	t.Helper()
	now := r.clk.Now()
	recs, err := r.db.ListKeys(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var active []keys.Record
	for _, k := range recs {
		if k.State == keys.Active {
			active = append(active, k)
		}
	}
	if len(active) != 1 {
		t.Fatalf("%s: %d active keys, want exactly 1", when, len(active))
	}
	pending := 0
	for _, k := range recs {
		if k.State == keys.Pending {
			pending++
		}
	}
	if pending > 1 {
		t.Fatalf("%s: %d pending keys: the schedule ran twice", when, pending)
	}
	for _, inst := range []*instance{r.a, r.b} {
		snap := inst.km.Ring().Load()
		jwks := jwksKIDs(t, snap)
		if snap.Active() == nil || snap.Active().KID != active[0].KID {
			t.Fatalf("%s: instance %s signs with %v, the active key is %s", when, inst.name, snap.Active(), active[0].KID)
		}
		if !jwks[snap.Active().KID] {
			t.Fatalf("%s: instance %s signs with %s, which is not in its JWKS", when, inst.name, snap.Active().KID)
		}
		for _, k := range recs {
			want := k.Published(now)
			switch k.State {
			case keys.Revoked:
				want = false
			case keys.Retired:
				if k.ActivatedAt.IsZero() {
					// A pending key withdrawn by a rotation never signed:
					// it leaves at once.
					want = false
					break
				}
				want = !now.After(k.RetiredAt.Add(r.policy.TokenTTL + keys.Leeway))
				if !k.ExpiresAt.Equal(k.RetiredAt.Add(r.policy.TokenTTL + keys.Leeway)) {
					t.Fatalf("%s: retired key %s expires at %s, want retired_at + TTL + 60s", when, k.KID, k.ExpiresAt)
				}
			}
			if jwks[k.KID] != want {
				t.Fatalf("%s: instance %s publishes %s (%s) = %t, want %t", when, inst.name, k.KID, k.State, jwks[k.KID], want)
			}
		}
		if inst == r.a {
			for kid := range jwks {
				if _, ok := r.seenAt[kid]; !ok {
					r.seenAt[kid] = now
				}
			}
		}
		for _, tok := range r.tokens {
			if now.After(tok.exp.Add(keys.Leeway)) {
				continue // expired: nothing promises it verifies
			}
			_, err := inst.auth.Verify(r.ctx, tok.raw, "")
			if r.revoked[tok.kid] {
				if jwks[tok.kid] {
					t.Fatalf("%s: revoked key %s is in %s's JWKS", when, tok.kid, inst.name)
				}
				if !errors.Is(err, authority.ErrInvalidToken) {
					t.Fatalf("%s: token of revoked key %s verified on %s: %v", when, tok.kid, inst.name, err)
				}
				continue
			}
			if !jwks[tok.kid] {
				t.Fatalf("%s: key %s signed a live token (exp %s) but is not in %s's JWKS", when, tok.kid, tok.exp, inst.name)
			}
			if err != nil {
				t.Fatalf("%s: live token of %s (signed on %s) fails on %s: %v", when, tok.kid, tok.by, inst.name, err)
			}
		}
	}
	for _, k := range recs {
		switch {
		case k.State == keys.Revoked && k.Sealed != "":
			t.Fatalf("%s: revoked key %s keeps its private key", when, k.KID)
		case k.State == keys.Retired && !k.Published(now) && k.Sealed != "":
			t.Fatalf("%s: retired key %s left the JWKS but its private key was not destroyed", when, k.KID)
		case k.State == keys.Active && r.policy.RotationPeriod > 0 && now.Sub(k.ActivatedAt) > r.policy.RotationPeriod+step:
			t.Fatalf("%s: active key %s is %s old, past the rotation period", when, k.KID, now.Sub(k.ActivatedAt))
		}
	}
	// Drop tokens that no longer matter, so the checks stay cheap.
	live := r.tokens[:0]
	for _, tok := range r.tokens {
		if !now.After(tok.exp.Add(keys.Leeway)) {
			live = append(live, tok)
		}
	}
	r.tokens = live
}

// checkHistory verifies the record of the whole run: keys activated one
// after the other with no gap or overlap, scheduled keys published for
// PublishAhead before they signed, and an audit event for every change.
func (r *lifecycleRun) checkHistory() {
	t := r.t
	recs, err := r.db.ListKeys(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var activated []keys.Record
	for _, k := range recs {
		if !k.ActivatedAt.IsZero() {
			activated = append(activated, k)
		}
	}
	sort.Slice(activated, func(i, j int) bool { return activated[i].ActivatedAt.Before(activated[j].ActivatedAt) })
	if len(activated) < 4 {
		t.Fatalf("only %d keys were ever active over three rotation periods", len(activated))
	}
	for i := 0; i+1 < len(activated); i++ {
		cur, next := activated[i], activated[i+1]
		if !cur.RetiredAt.Equal(next.ActivatedAt) {
			t.Fatalf("gap in key history: %s retired at %s, %s activated at %s", cur.KID, cur.RetiredAt, next.KID, next.ActivatedAt)
		}
	}
	events, err := r.db.ListEvents(r.ctx, store.AuditQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]map[string]authority.Event{}
	for _, e := range events {
		if byKind[e.Type] == nil {
			byKind[e.Type] = map[string]authority.Event{}
		}
		byKind[e.Type][e.KID] = e
		if e.Actor == "" || e.Detail == "" {
			t.Fatalf("audit event %s for %s lacks who or why: %+v", e.Type, e.KID, e)
		}
	}
	for _, k := range activated {
		e, ok := byKind["key.activated"][k.KID]
		if !ok || !e.At.Equal(k.ActivatedAt) {
			t.Fatalf("key %s activated at %s: audit event %+v", k.KID, k.ActivatedAt, e)
		}
		if e.Actor == "schedule" {
			if seen, ok := r.seenAt[k.KID]; !ok || k.ActivatedAt.Sub(seen) < r.policy.PublishAhead {
				t.Fatalf("key %s signed from %s but was published only at %s", k.KID, k.ActivatedAt, seen)
			}
		}
	}
	for _, k := range recs {
		if k.State == keys.Revoked {
			if e, ok := byKind["key.revoked"][k.KID]; !ok || !e.At.Equal(k.RevokedAt) {
				t.Fatalf("revoked key %s has audit event %+v", k.KID, e)
			}
		}
		if k.State == keys.Retired && !k.ActivatedAt.IsZero() {
			if _, ok := byKind["key.retired"][k.KID]; !ok {
				t.Fatalf("retired key %s has no key.retired event", k.KID)
			}
			if k.Sealed == "" {
				if _, ok := byKind["key.destroyed"][k.KID]; !ok {
					t.Fatalf("key %s was destroyed without a key.destroyed event", k.KID)
				}
			}
		}
	}
}

// checkAlgs verifies that keys of each of algs signed during the run, and
// no other algorithm did.
func (r *lifecycleRun) checkAlgs(algs []keys.Alg) {
	recs, err := r.db.ListKeys(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	seen := map[keys.Alg]int{}
	for _, k := range recs {
		if !k.ActivatedAt.IsZero() {
			seen[k.Alg]++
		}
	}
	for _, a := range algs {
		if seen[a] == 0 {
			r.t.Errorf("no %s key was ever active (active algs: %v)", a, seen)
		}
		delete(seen, a)
	}
	if len(seen) > 0 {
		r.t.Errorf("unexpected algorithms signed: %v", seen)
	}
}
