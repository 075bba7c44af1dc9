package keys_test

import (
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

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
