package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store"
)

func newSealer(t *testing.T) *keys.Sealer {
	kek, _ := keys.NewKEK()
	s, err := keys.ParseKEKs(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testKeysInsertUpdate(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := newSealer(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	r, err := keys.NewRecord(keys.EdDSA, s, now)
	if err != nil {
		t.Fatal(err)
	}
	r.State, r.ActivatedAt = keys.Active, now
	err = db.UpdateKeys(ctx, func(cur []keys.Record) (keys.Change, error) {
		if len(cur) != 0 {
			t.Errorf("fresh database has %d keys", len(cur))
		}
		return keys.Change{Keys: []keys.Record{r}, Events: []keys.Event{{Type: "key.activated", KID: r.KID, Actor: "test"}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.ListKeys(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListKeys = %v, %v", got, err)
	}
	g := got[0]
	if g.KID != r.KID || g.State != keys.Active || g.Sealed != r.Sealed || string(g.PublicJWK) != string(r.PublicJWK) || !g.ActivatedAt.Equal(now) || !g.RetiredAt.IsZero() {
		t.Fatalf("round trip mismatch: %+v", g)
	}
	if _, err := keys.OpenPrivate(g, s); err != nil {
		t.Fatalf("stored key does not unseal: %v", err)
	}
	ev, err := db.ListEvents(ctx, store.AuditQuery{Type: "key.activated"})
	if err != nil || len(ev) != 1 || ev[0].KID != r.KID {
		t.Fatalf("audit = %+v, %v", ev, err)
	}
}

func testKeysRejectTwoActive(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := newSealer(t)
	now := time.Now()
	a, _ := keys.NewRecord(keys.ES256, s, now)
	b, _ := keys.NewRecord(keys.ES256, s, now)
	a.State, b.State = keys.Active, keys.Active
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{a, b}}, nil
	})
	if err == nil {
		t.Fatal("two active keys were accepted")
	}
	if got, _ := db.ListKeys(ctx); len(got) != 0 {
		t.Fatalf("a failed update left %d rows", len(got))
	}
}

func testKeysFnError(t *testing.T, db *store.DB) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) { return keys.Change{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

// Concurrent read-modify-write updates must serialise: each sees the
// previous one's write, so none is lost.
func testKeysConcurrent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s := newSealer(t)
	first, _ := keys.NewRecord(keys.EdDSA, s, time.Now())
	first.State = keys.Active
	if err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{first}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.UpdateKeys(ctx, func(cur []keys.Record) (keys.Change, error) {
				var ch keys.Change
				for _, r := range cur {
					if r.State == keys.Active {
						r.State, r.RetiredAt = keys.Retired, time.Now()
						ch.Keys = append(ch.Keys, r)
					}
				}
				nr, err := keys.NewRecord(keys.EdDSA, s, time.Now())
				if err != nil {
					return ch, err
				}
				nr.State = keys.Active
				ch.Keys = append(ch.Keys, nr)
				return ch, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent update: %v", err)
		}
	}
	got, _ := db.ListKeys(ctx)
	active := 0
	for _, r := range got {
		if r.State == keys.Active {
			active++
		}
	}
	if len(got) != n+1 || active != 1 {
		t.Fatalf("after %d rotations: %d keys, %d active; want %d and 1", n, len(got), active, n+1)
	}
}

func activeKey(t *testing.T, db *store.DB) keys.Record {
	t.Helper()
	r, err := keys.NewRecord(keys.EdDSA, newSealer(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.State, r.ActivatedAt = keys.Active, r.CreatedAt
	if err := db.UpdateKeys(context.Background(), func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{r}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func testKeyEventsKeepWhoWhenWhy(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := activeKey(t, db)
	at := time.Date(2031, 5, 6, 7, 8, 9, 123e6, time.UTC)
	if err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Events: []keys.Event{{Type: "key.rewrapped", KID: r.KID, Actor: "cli", Reason: "sealed under key-encryption key k2", At: at}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ev, err := db.ListEvents(ctx, store.AuditQuery{Type: "key.rewrapped"})
	if err != nil || len(ev) != 1 {
		t.Fatalf("events = %+v, %v", ev, err)
	}
	if e := ev[0]; e.KID != r.KID || e.Actor != "cli" || e.Detail != "sealed under key-encryption key k2" || !e.At.Equal(at) {
		t.Fatalf("event = %+v", e)
	}
}

func testKeysRejectRevokedWithPrivateKey(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := activeKey(t, db)
	p, _ := keys.NewRecord(keys.EdDSA, newSealer(t), time.Now())
	p.State = keys.Revoked // sealed key still present
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Keys: []keys.Record{p}}, nil
	})
	if err == nil {
		t.Fatal("a revoked key keeping its private key was accepted")
	}
	if got, _ := db.ListKeys(ctx); len(got) != 1 || got[0].KID != r.KID {
		t.Fatalf("a refused update left %+v", got)
	}
}

// A key change that cannot get the key lock in time fails as unavailable
// (503 to clients), never as an internal error, and writes nothing.
func testKeyLockWaitTimeout(t *testing.T, db *store.DB) {
	ctx := context.Background()
	activeKey(t, db)
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
			close(held)
			<-release
			return keys.Change{}, nil
		})
	}()
	<-held
	defer func() { close(release); <-done }()
	db.KeyLockTimeout = 300 * time.Millisecond
	err := db.UpdateKeys(ctx, func([]keys.Record) (keys.Change, error) {
		return keys.Change{Events: []keys.Event{{Type: "key.rewrapped", Actor: "test", Reason: "x"}}}, nil
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("waiting for the key lock past the timeout: %v, want ErrUnavailable", err)
	}
}
