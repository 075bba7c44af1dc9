package keys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store"
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
