package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
)

func testClientSecretReplaced(t *testing.T, db *store.DB) {
	ctx := context.Background()
	c := authority.Client{ID: "c1", Name: "one", SecretHash: "old", Scopes: []string{}, Audience: "a", CreatedAt: time.Now()}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountClients(ctx); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
	if err := db.SetClientSecret(ctx, "c1", "new"); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClientByID(ctx, "c1")
	if err != nil || got.SecretHash != "new" || got.Name != "one" {
		t.Fatalf("after rotation %+v %v", got, err)
	}
	if err := db.SetClientSecret(ctx, "nope", "x"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
}

func testAuditTimeRange(t *testing.T, db *store.DB) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		if err := db.RecordEvent(ctx, authority.Event{At: t0.Add(time.Duration(i) * time.Hour), Type: "range.test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		from, to time.Time
		want     int
	}{
		{t0.Add(time.Hour), t0.Add(3 * time.Hour), 2}, // from inclusive, to exclusive
		{t0.Add(4 * time.Hour), time.Time{}, 1},
		{time.Time{}, t0.Add(time.Minute), 1},
		{t0.Add(5 * time.Hour), time.Time{}, 0},
	} {
		ev, err := db.ListEvents(ctx, store.AuditQuery{Type: "range.test", From: c.from, To: c.to})
		if err != nil || len(ev) != c.want {
			t.Fatalf("from %v to %v: %d events (%v), want %d", c.from, c.to, len(ev), err, c.want)
		}
	}
}

func testClientPut(t *testing.T, db *store.DB) {
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := authority.Client{ID: "builtin", Name: "first", Scopes: []string{}, Audience: "a", CreatedAt: created,
		RedirectURIs: []string{"http://one.test/cb"}, GrantTypes: []string{"authorization_code"}, Public: true, FirstParty: true}
	if err := db.PutClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Name, c.RedirectURIs, c.CreatedAt = "second", []string{"https://two.test/cb"}, created.Add(time.Hour)
	if err := db.PutClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClientByID(ctx, "builtin")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "second" || len(got.RedirectURIs) != 1 || got.RedirectURIs[0] != "https://two.test/cb" || !got.Public || !got.FirstParty {
		t.Fatalf("after the second put: %+v", got)
	}
	if !got.CreatedAt.Equal(created) {
		t.Errorf("creation time %v, want the first %v", got.CreatedAt, created)
	}
	if n, err := db.CountClients(ctx); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
}

func testAuditPaging(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		typ := "login.failure"
		if i%2 == 0 {
			typ = "login.success"
		}
		if err := db.RecordEvent(ctx, authority.Event{Type: typ, UserID: "u1", IP: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := db.ListEvents(ctx, store.AuditQuery{Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID <= page[1].ID {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	next, _ := db.ListEvents(ctx, store.AuditQuery{Limit: 10, Before: page[1].ID})
	if len(next) != 3 || next[0].ID >= page[1].ID {
		t.Fatalf("second page = %+v", next)
	}
	succ, _ := db.ListEvents(ctx, store.AuditQuery{Type: "login.success"})
	if len(succ) != 3 {
		t.Fatalf("filtered = %d events, want 3", len(succ))
	}
}
