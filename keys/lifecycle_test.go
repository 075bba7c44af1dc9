package keys_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store/storetest"
)

// action is something an operator does at a step of the run.
type action func(r *lifecycleRun)

// step is how far the fake clock moves between checks.
const step = 6 * time.Minute

func TestLifecycleInvariantsUnderFakeClock(t *testing.T) {
	const period = 3 * time.Hour
	scenarios := []struct {
		name     string
		alg      keys.Alg
		wantAlgs []keys.Alg               // algorithms that must have signed during the run
		actions  map[time.Duration]action // by time since the start
	}{
		{name: "RS256", alg: keys.RS256, wantAlgs: []keys.Alg{keys.RS256}, actions: map[time.Duration]action{
			2*time.Hour + 24*time.Minute: revokeActive("leak"), // promotes the pending key
			5*time.Hour + 30*time.Minute: revokeNewestRetired(),
		}},
		{name: "EdDSA", alg: keys.EdDSA, wantAlgs: []keys.Alg{keys.EdDSA}, actions: map[time.Duration]action{
			3*time.Hour + 24*time.Minute: adminRotate(""),
			3*time.Hour + 30*time.Minute: adminRotate(""),
			8*time.Hour + 24*time.Minute: revokeActive("leak"),
		}},
		{name: "ES256", alg: keys.ES256, wantAlgs: []keys.Alg{keys.ES256}, actions: map[time.Duration]action{
			3*time.Hour + 6*time.Minute:  revokeNewestRetired(),
			3*time.Hour + 12*time.Minute: revokeActive("leak"),
		}},
		{name: "change of algorithm", alg: keys.RS256, wantAlgs: []keys.Alg{keys.RS256, keys.ES256, keys.EdDSA}, actions: map[time.Duration]action{
			2*time.Hour + 36*time.Minute: adminRotate(keys.ES256), // withdraws the pending RS256 key
			5 * time.Hour:                changePolicyAlg(keys.EdDSA),
			8*time.Hour + 48*time.Minute: revokeActive("leak"),
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, dbURL string) {
				r := newLifecycleRun(t, dbURL, keys.Policy{Alg: sc.alg, RotationPeriod: period, PublishAhead: time.Hour, TokenTTL: 15 * time.Minute})
				// Three rotation periods in steps shorter than a token's
				// lifetime, so live tokens overlap every rotation. Tokens
				// are signed on a and b in turn.
				for i := 1; i <= int(3*period/step); i++ {
					r.clk.Advance(step)
					// Both instances run the scheduled step at the same
					// moment, as Run does: they take the lock only when
					// their snapshot says work is due, and the one that
					// gets it second finds nothing left to do.
					r.stepBoth(i)
					// And as Run's expiry timer does: reload once a
					// retired key's retention has ended.
					if next, ok := r.a.km.Ring().Load().NextExpiry(); ok && r.clk.Now().After(next) {
						if err := r.a.km.Reload(r.ctx); err != nil {
							t.Fatal(err)
						}
					}
					if i%2 == 0 {
						r.issue(r.a)
					}
					if act := sc.actions[time.Duration(i)*step]; act != nil {
						act(r)
					}
					if err := r.b.km.Reload(r.ctx); err != nil {
						t.Fatalf("step %d: reload b: %v", i, err)
					}
					if i%2 == 1 {
						r.issue(r.b)
					}
					r.check(fmt.Sprintf("step %d (%s)", i, r.clk.Now().Format(time.RFC3339)))
				}
				r.checkHistory()
				r.checkAlgs(sc.wantAlgs)
			})
		})
	}
}

func revokeActive(reason string) action {
	return func(r *lifecycleRun) {
		kid := r.a.km.Ring().Load().Active().KID
		if _, err := r.a.km.Revoke(r.ctx, kid, "admin-1", reason); err != nil {
			r.t.Fatalf("revoke %s: %v", kid, err)
		}
		r.revoked[kid] = true
		// Revoking again is idempotent.
		if rec, err := r.a.km.Revoke(r.ctx, kid, "admin-1", reason); err != nil || rec.State != keys.Revoked {
			r.t.Fatalf("second revoke of %s: %v %v", kid, rec.State, err)
		}
	}
}

func revokeNewestRetired() action {
	return func(r *lifecycleRun) {
		recs, err := r.db.ListKeys(r.ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		var kid string
		var at time.Time
		for _, k := range recs {
			if k.State == keys.Retired && k.Published(r.clk.Now()) && k.RetiredAt.After(at) {
				kid, at = k.KID, k.RetiredAt
			}
		}
		if kid == "" {
			r.t.Fatal("no published retired key to revoke at this step; move the action")
		}
		if _, err := r.a.km.Revoke(r.ctx, kid, "admin-1", "leak of a retired key"); err != nil {
			r.t.Fatal(err)
		}
		r.revoked[kid] = true
	}
}

func adminRotate(alg keys.Alg) action {
	return func(r *lifecycleRun) {
		rec, err := r.a.km.Rotate(r.ctx, alg, "admin-1", "on demand")
		if err != nil {
			r.t.Fatal(err)
		}
		want := alg
		if want == "" {
			want = r.policy.Alg
		}
		if rec.State != keys.Active || rec.Alg != want || rec.Sealed != "" {
			r.t.Fatalf("rotate returned %+v", rec)
		}
	}
}

// changePolicyAlg restarts instance a with a new configured algorithm, as
// an operator changing SIGIL_SIGNING_ALG would: the next scheduled key
// uses it.
func changePolicyAlg(alg keys.Alg) action {
	return func(r *lifecycleRun) {
		r.policy.Alg = alg
		r.a = newInstance(r.t, "a", r.db, r.sealer, r.policy, r.clk)
		if err := r.a.km.Bootstrap(r.ctx, "system"); err != nil {
			r.t.Fatal(err)
		}
	}
}
