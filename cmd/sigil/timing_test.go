package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A wrong password for an imported account (a bcrypt hash, slower to
// check than the cheap argon2id of this test) and a login with an unknown
// email take alike: failed checks are padded to the slowest hash class
// this instance has checked. Medians of interleaved attempts, compared as
// a ratio; the first failure against the bcrypt account teaches the
// instance its cost.
func TestUnknownEmailTakesAsLongAsAWrongPasswordForAnImportedHash(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, map[string]string{"SIGIL_LOCKOUT_THRESHOLD": "0"})
	file := filepath.Join(t.TempDir(), "users.jsonl")
	line := jsonLine(t, map[string]any{"email": "legacy@example.com", "passwordHash": fixtureHash10})
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(t, env, "", "users", "import", file); err != nil {
		t.Fatalf("import: %v %s", err, errOut)
	}
	s := startServer(t, env)
	timed := func(email string) time.Duration {
		start := time.Now()
		if st, _, _ := loginAttempt(t, s, email, "wrong password"); st != 401 {
			t.Fatalf("%s: %d, want 401", email, st)
		}
		return time.Since(start)
	}
	timed("legacy@example.com") // the instance meets a bcrypt hash
	var legacy, unknown []time.Duration
	for i := 0; i < 9; i++ {
		legacy = append(legacy, timed("legacy@example.com"))
		unknown = append(unknown, timed("nobody@example.com"))
	}
	slices.Sort(legacy)
	slices.Sort(unknown)
	ml, mu := legacy[len(legacy)/2], unknown[len(unknown)/2]
	t.Logf("median failed login: bcrypt account %s, unknown email %s", ml, mu)
	if ratio := float64(mu) / float64(ml); ratio < 0.6 || ratio > 1.7 {
		t.Fatalf("unknown email takes %.2f times as long as a wrong password for a bcrypt account (%s vs %s): the time tells them apart", ratio, mu, ml)
	}
}
