package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// `sigil-load seed` fills a real database of each kind with exactly the
// rows asked for, in the shape Sigil reads: users that look up by email,
// refresh-token families whose spent tokens name their successors and
// whose newest token is live, audit pages, a live deny list; nothing of it
// is garbage to the pruning; and `-explain` shows the hot queries on
// indexes (on SQLite, whose planner picks them at any size).
func TestSeedFillsADatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		var out bytes.Buffer
		if err := runMain(ctx, []string{"seed", "-db-url", dbURL, "-scale", "0.0001", "-explain"}, nil, &out, io.Discard); err != nil {
			t.Fatalf("seed: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "seeded 100 users, 1000 refresh tokens, 100 audit events, 10 revoked access tokens") {
			t.Fatalf("seed output:\n%s", out.String())
		}
		db, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		u, err := db.UserByEmail(ctx, seedUserEmail(42))
		if err != nil || u.ID != seedUserID(42) || !u.EmailVerified {
			t.Fatalf("seeded user 42: %+v, %v", u, err)
		}
		if _, err := db.UserByEmail(ctx, seedUserEmail(100)); err == nil {
			t.Fatal("user 100 exists: more users than asked")
		}
		now := time.Now()
		// Family 0: tokens 0..3 spent, each naming the next; 4 live.
		for i := 0; i < seedFamily; i++ {
			rt, err := db.RefreshTokenByHash(ctx, authority.HashToken(seedRefreshToken(i)))
			if err != nil || rt.FamilyID != "seed-family-0" || !rt.ExpiresAt.After(now) || rt.UserID != seedUserID(0) {
				t.Fatalf("seeded refresh token %d: %+v, %v", i, rt, err)
			}
			if spent := i < seedFamily-1; spent != !rt.SpentAt.IsZero() || (spent && rt.ReplacedBy != authority.HashToken(seedRefreshToken(i+1))) {
				t.Fatalf("seeded refresh token %d: spent %v, replaced by %q", i, rt.SpentAt, rt.ReplacedBy)
			}
		}
		fam, err := db.RefreshFamily(ctx, "seed-family-199")
		if err != nil || len(fam) != seedFamily {
			t.Fatalf("last family: %d tokens, %v", len(fam), err)
		}
		if _, err := db.RefreshTokenByHash(ctx, authority.HashToken(seedRefreshToken(1000))); err == nil {
			t.Fatal("refresh token 1000 exists: more tokens than asked")
		}
		evs, err := db.ListEvents(ctx, authority.EventQuery{Limit: 500})
		if err != nil || len(evs) != 100 {
			t.Fatalf("audit events: %d, %v", len(evs), err)
		}
		denied, err := db.DeniedAfter(ctx, 0, now)
		if err != nil || len(denied) != 10 {
			t.Fatalf("deny list: %d, %v", len(denied), err)
		}
		res, err := db.Prune(ctx, store.PruneOptions{Now: now, AuditRetention: 90 * 24 * time.Hour})
		if err != nil || !res.Ran || res.Total() != 0 {
			t.Fatalf("pruning a fresh seed: %+v, %v; want nothing to prune", res, err)
		}
		if store.SQLitePath(dbURL) == "" {
			// Postgres rightly scans tables this small; its plans at scale
			// are in docs/benchmarks.md.
			return
		}
		plans := out.String()
		for _, want := range []string{"-- user by email (login)", "-- refresh token by hash (refresh)", "-- client by id", "-- deny list after a sequence number", "-- audit page of a user"} {
			i := strings.Index(plans, want)
			if i < 0 {
				t.Fatalf("no plan for %q:\n%s", want, plans)
			}
			plan, _, _ := strings.Cut(plans[i+len(want):], "\n\n")
			// SQLite's INTEGER PRIMARY KEY is the table's own b-tree key.
			if p := strings.ToLower(plan); !strings.Contains(p, "index") && !strings.Contains(p, "integer primary key") {
				t.Errorf("%s does not use an index:\n%s", want, plan)
			}
		}
	})
}

func TestSeedRefusesBadOptions(t *testing.T) {
	for _, args := range [][]string{
		{"seed"},
		{"seed", "-db-url", "sqlite:x.db", "-scale", "0"},
		{"seed", "-db-url", "sqlite:x.db", "-scale", "11"},
		{"seed", "-db-url", "sqlite:x.db", "extra"},
		{"seed", "-db-url", "mysql://x"},
	} {
		if err := runMain(context.Background(), args, nil, io.Discard, io.Discard); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want one line", args, err)
		}
	}
}
