package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// An unknown email and a wrong password get the same answer.
func TestLoginDoesNotRevealWhichEmailsExist(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	s.signupLogin(t, "known@example.com", "password123")
	strip := func(b []byte) string {
		var m map[string]any
		decode(t, b, &m)
		delete(m, "requestId")
		out, _ := json.Marshal(m)
		return string(out)
	}
	st1, _, b1 := s.postJSON(t, "/auth/login", map[string]string{"email": "known@example.com", "password": "wrong-password"})
	st2, _, b2 := s.postJSON(t, "/auth/login", map[string]string{"email": "nobody@example.com", "password": "wrong-password"})
	if st1 != 401 || st2 != 401 || strip(b1) != strip(b2) {
		t.Fatalf("wrong password: %d %s\nunknown email: %d %s", st1, b1, st2, b2)
	}
}

// The production argon2id parameters (no override) hash and verify, and
// the stored hash is a PHC string with m=19456,t=2,p=1.
func TestProductionArgon2Parameters(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, nil)
	delete(env, "SIGIL_ARGON2_MEMORY")
	delete(env, "SIGIL_ARGON2_TIME")
	s := startServer(t, env)
	lr := s.signupLogin(t, "prod@example.com", "production password")
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByID(context.Background(), lr.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash %q is not argon2id at the production cost", u.PasswordHash)
	}
	if strings.Contains(u.PasswordHash, "production password") {
		t.Fatal("password stored in clear")
	}
}

// A user migrated with a bcrypt hash logs in, and the hash becomes argon2id.
func TestBcryptHashVerifiesAndIsUpgraded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		ctx := context.Background()
		db, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for i, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
			h, _ := bcrypt.GenerateFromPassword([]byte("node password"), bcrypt.MinCost)
			hash := prefix + string(h[4:])
			email := "legacy" + string(rune('a'+i)) + "@example.com"
			now := time.Now()
			if err := db.CreateUser(ctx, authority.User{ID: "legacy-" + prefix, Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "wrong password"}); st != 401 {
				t.Fatalf("%s wrong password: %d", prefix, st)
			}
			s.login(t, email, "node password")
			u, _ := db.UserByEmail(ctx, email)
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("%s hash not upgraded: %s", prefix, u.PasswordHash)
			}
			s.login(t, email, "node password")
		}
	})
}
