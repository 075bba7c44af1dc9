package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
)

func user(email string) authority.User {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return authority.User{ID: "id-" + email, Email: email, Name: "N", PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}
}

func testUserEmailUnique(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.CreateUser(ctx, user("a@example.com")); err != nil {
		t.Fatal(err)
	}
	u := user("a@example.com")
	u.ID = "other"
	if err := db.CreateUser(ctx, u); !errors.Is(err, authority.ErrEmailTaken) {
		t.Fatalf("duplicate email: got %v, want ErrEmailTaken", err)
	}
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Fatalf("users = %d, want 1", n)
	}
}

func testUserLookup(t *testing.T, db *store.DB) {
	ctx := context.Background()
	in := user("b@example.com")
	in.Admin = true
	if err := db.CreateUser(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByEmail(ctx, "b@example.com")
	if err != nil || got.ID != in.ID || !got.Admin || !got.CreatedAt.Equal(in.CreatedAt) {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	if _, err := db.UserByID(ctx, "nope"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if ok, err := db.AdminExists(ctx); !ok || err != nil {
		t.Fatalf("AdminExists = %v, %v", ok, err)
	}
}

func testPasswordCAS(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := user("c@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplacePasswordHash(ctx, u.ID, "stale", "new"); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("stale CAS: %v", err)
	}
	if err := db.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, "new"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.UserByID(ctx, u.ID)
	if got.PasswordHash != "new" {
		t.Fatalf("hash = %q", got.PasswordHash)
	}
}

func testUserEmails(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for _, e := range []string{"e1@example.com", "e2@example.com", "e3@example.com"} {
		if err := db.CreateUser(ctx, user(e)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.UserEmails(ctx, []string{"id-e1@example.com", "id-e3@example.com", "gone", "bootstrap"})
	if err != nil || len(got) != 2 || got["id-e1@example.com"] != "e1@example.com" || got["id-e3@example.com"] != "e3@example.com" {
		t.Fatalf("UserEmails = %v, %v", got, err)
	}
	if got, err := db.UserEmails(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("UserEmails(nil) = %v, %v", got, err)
	}
}
