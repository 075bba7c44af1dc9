package keys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// instance is one Sigil process as far as keys are concerned: its own ring,
// manager and authority over the shared store.
type instance struct {
	name string
	km   *keys.Manager
	auth *authority.Service
}

func newInstance(t *testing.T, name string, db *store.DB, sealer *keys.Sealer, policy keys.Policy, clk *keystest.Clock) *instance {
	t.Helper()
	ring := &keys.Ring{}
	km := keys.NewManager(db, sealer, ring, policy, clk.Now, nil)
	auth, err := authority.New(authority.Config{
		Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: policy.TokenTTL, RefreshTTL: time.Hour,
		Argon2: authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	}, db, ring, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &instance{name: name, km: km, auth: auth}
}

// issued is a token the test signed and keeps checking until it expires.
type issued struct {
	raw string
	kid string
	exp time.Time
	by  string
}

// lifecycleRun drives the key lifecycle of one database with a fake clock
// and checks every invariant after every step.
type lifecycleRun struct {
	t       *testing.T
	ctx     context.Context
	db      *store.DB
	clk     *keystest.Clock
	sealer  *keys.Sealer
	policy  keys.Policy
	a, b    *instance // a runs the schedule; b only reloads, like a second server
	tokens  []issued
	seenAt  map[string]time.Time // when a kid first appeared in a's JWKS
	revoked map[string]bool
}

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

func newLifecycleRun(t *testing.T, dbURL string, policy keys.Policy) *lifecycleRun {
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	kek, err := keys.NewKEK()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keys.ParseKEKs(kek)
	if err != nil {
		t.Fatal(err)
	}
	clk := keystest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	r := &lifecycleRun{t: t, ctx: ctx, db: db, clk: clk, sealer: sealer, policy: policy, seenAt: map[string]time.Time{}, revoked: map[string]bool{}}
	r.a = newInstance(t, "a", db, sealer, policy, clk)
	r.b = newInstance(t, "b", db, sealer, policy, clk)
	if err := r.a.km.Bootstrap(ctx, "system"); err != nil {
		t.Fatal(err)
	}
	if err := r.b.km.Bootstrap(ctx, "system"); err != nil {
		t.Fatal(err)
	}
	r.check("bootstrap")
	return r
}

// stepBoth runs the scheduled step on both instances concurrently.
func (r *lifecycleRun) stepBoth(i int) {
	r.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, inst := range []*instance{r.a, r.b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if inst.km.Due() {
				if _, err := inst.km.Step(r.ctx); err != nil {
					errs <- fmt.Errorf("step %d on %s: %w", i, inst.name, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		r.t.Fatal(err)
	}
}

// issue signs a token on inst, as a login would.
func (r *lifecycleRun) issue(inst *instance) {
	r.t.Helper()
	c := inst.auth.NewAccessClaims("user-1", "sigil", "", authority.Audience{"sigil"}, r.policy.TokenTTL)
	raw, err := inst.auth.Sign(c, "password")
	if err != nil {
		r.t.Fatalf("sign on %s: %v", inst.name, err)
	}
	r.tokens = append(r.tokens, issued{raw: raw, kid: inst.km.Ring().Load().Active().KID, exp: c.ExpiresAt(), by: inst.name})
}

func jwksKIDs(t *testing.T, snap *keys.Snapshot) map[string]bool {
	t.Helper()
	doc, _ := snap.JWKS()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		if k.D != "" || k.Use != "sig" || k.Alg == "" {
			t.Fatalf("JWKS entry %s is malformed or private: %+v", k.KID, k)
		}
		out[k.KID] = true
	}
	return out
}

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

// TestReloadDropsRetiredKeyWhenRetentionEnds checks that a reload with no
// change in the database still rebuilds the snapshot once a retired key's
// retention ends, and that the snapshot announces that moment.
func TestReloadDropsRetiredKeyWhenRetentionEnds(t *testing.T) {
	policy := keys.Policy{Alg: keys.EdDSA, TokenTTL: 15 * time.Minute} // no schedule
	r := newLifecycleRun(t, storetest.SQLiteURL(t), policy)
	old := r.a.km.Ring().Load().Active().KID
	rec, err := r.a.km.Rotate(r.ctx, "", "admin-1", "test")
	if err != nil {
		t.Fatal(err)
	}
	retention := 15*time.Minute + keys.Leeway
	next, ok := r.a.km.Ring().Load().NextExpiry()
	if !ok || !next.Equal(rec.ActivatedAt.Add(retention)) {
		t.Fatalf("NextExpiry = %s %t, want %s", next, ok, rec.ActivatedAt.Add(retention))
	}
	for _, tc := range []struct {
		after     time.Duration
		published bool
	}{
		{retention - time.Second, true},
		{time.Second, true}, // exactly at expiresAt: a token may still verify
		{time.Millisecond, false},
	} {
		r.clk.Advance(tc.after)
		if err := r.a.km.Reload(r.ctx); err != nil {
			t.Fatal(err)
		}
		if got := jwksKIDs(t, r.a.km.Ring().Load())[old]; got != tc.published {
			t.Fatalf("%s after retirement: published = %t, want %t", r.clk.Now().Sub(rec.ActivatedAt), got, tc.published)
		}
	}
	if _, ok := r.a.km.Ring().Load().NextExpiry(); ok {
		t.Fatal("NextExpiry still reports the key that left")
	}
	// The schedule destroys its private key, and says so in the audit log.
	if !r.a.km.Due() {
		t.Fatal("destroying the expired private key is not due")
	}
	if _, err := r.a.km.Step(r.ctx); err != nil {
		t.Fatal(err)
	}
	recs, _ := r.db.ListKeys(r.ctx)
	for _, k := range recs {
		if k.KID == old && k.Sealed != "" {
			t.Fatal("private key of the expired key kept")
		}
	}
	ev, _ := r.db.ListEvents(r.ctx, store.AuditQuery{Type: "key.destroyed"})
	if len(ev) != 1 || ev[0].KID != old || ev[0].Actor != "schedule" {
		t.Fatalf("key.destroyed events: %+v", ev)
	}
	if r.a.km.Due() {
		t.Fatal("work still due after the step")
	}
}
