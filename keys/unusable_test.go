package keys_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

func sealerOf(t *testing.T, spec ...string) *keys.Sealer {
	t.Helper()
	s, err := keys.ParseKEKs(strings.Join(spec, ","))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newKEK(t *testing.T, id string) string {
	t.Helper()
	k, err := keys.NewKEK()
	if err != nil {
		t.Fatal(err)
	}
	return id + ":" + k
}

// A manager whose reload meets an active key it cannot unseal verifies with
// the published keys and signs with none (its own key is retired), reports the problem through Unusable (naming the kid and
// the missing KEK, since when), logs it once however many reloads meet
// it, and clears it, logging once, when a reload succeeds again.
func TestReloadReportsAnUnusableKeySetOnce(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLiteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := newKEK(t, "a"), newKEK(t, "b")
	clk := keystest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	policy := keys.Policy{Alg: keys.EdDSA, TokenTTL: 15 * time.Minute}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	km := keys.NewManager(db, sealerOf(t, a), &keys.Ring{}, policy, clk.Now, log)
	if err := km.Bootstrap(ctx, "system"); err != nil {
		t.Fatal(err)
	}
	first := km.Ring().Load().Active().KID

	// Another instance seals a new active key under b, which km lacks.
	other := keys.NewManager(db, sealerOf(t, b), &keys.Ring{}, policy, clk.Now, nil)
	rec, err := other.Rotate(ctx, "", "cli", "test")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		clk.Advance(time.Second)
		if err := km.Reload(ctx); !errors.Is(err, keys.ErrUnseal) {
			t.Fatalf("reload %d: %v, want an unseal error", i, err)
		}
	}
	u := km.Unusable()
	if u == nil || !strings.Contains(u.Reason, rec.KID) || !strings.Contains(u.Reason, `"b"`) || !u.Since.Equal(clk.Now().Add(-4*time.Second)) {
		t.Fatalf("Unusable() = %+v, want the kid %s, KEK b, since the first failed reload", u, rec.KID)
	}
	snap := km.Ring().Load()
	if snap.Active() != nil {
		t.Fatalf("snapshot after failed reloads signs with %s, whose key is retired", snap.Active().KID)
	}
	if _, ok := snap.Key(first); !ok {
		t.Fatalf("the retired key %s no longer verifies", first)
	}
	if _, ok := snap.Key(rec.KID); !ok {
		t.Fatalf("the new active key %s does not verify", rec.KID)
	}
	if n := strings.Count(logs.String(), "signing keys unusable"); n != 1 {
		t.Fatalf("logged %d times over 5 failed reloads, want once:\n%s", n, logs.String())
	}

	// A key km can unseal heals it.
	healer := keys.NewManager(db, sealerOf(t, a, b), &keys.Ring{}, policy, clk.Now, nil)
	if _, err := healer.Rotate(ctx, "", "cli", "test"); err != nil {
		t.Fatal(err)
	}
	if err := km.Reload(ctx); err != nil {
		t.Fatalf("reload after healing: %v", err)
	}
	if km.Unusable() != nil || strings.Count(logs.String(), "signing keys usable again") != 1 {
		t.Fatalf("after healing: Unusable() = %+v, logs:\n%s", km.Unusable(), logs.String())
	}
}
