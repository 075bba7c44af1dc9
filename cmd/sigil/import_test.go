package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Hashes written by bcryptjs (the Node library Express apps use), kept as
// fixtures so the test needs no Node: 2.4.3 writes $2a$, 3.x writes $2b$.
var bcryptjsUsers = []struct{ hash, password string }{
	{"$2a$10$L6zWAJSZqX.jqLQ9DncXy.zSk7YflB9xXbaH.FMam5rqFo9Rdmb3e", "node password 10"},
	{"$2a$12$x4soRGGI/zdxBQgK/sxlRuocj79wW59MeFHiCb9OdqnAGVbvGXAlC", "node password 12"},
	{"$2b$10$5RgP6x6LfBKsPLylFPXtJ.ceNm6DaqKB3uqZVMdRpBvuVxR3YjRLO", "node password 3"},
}

var (
	goHashesOnce sync.Once
	goHash10     string
	goHash12     string
)

// goHashes returns hashes made by golang.org/x/crypto/bcrypt at cost 10
// and 12 (made once: cost 12 is slow on purpose).
func goHashes(t *testing.T) (string, string) {
	goHashesOnce.Do(func() {
		h10, err := bcrypt.GenerateFromPassword([]byte("go password 10"), 10)
		if err != nil {
			t.Fatal(err)
		}
		h12, err := bcrypt.GenerateFromPassword([]byte("go password 12"), 12)
		if err != nil {
			t.Fatal(err)
		}
		goHash10, goHash12 = string(h10), string(h12)
	})
	return goHash10, goHash12
}

func jsonLine(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Imported users log in with their old passwords and are re-hashed to
// argon2id at that login.
func TestUsersImportLogsInAndRehashes(t *testing.T) {
	h10, h12 := goHashes(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		type legacy struct{ email, hash, password string }
		users := []legacy{
			{"go10@example.com", h10, "go password 10"},
			{"go12@example.com", h12, "go password 12"},
			{"go2y@example.com", "$2y$" + h10[4:], "go password 10"},
		}
		for i, u := range bcryptjsUsers {
			users = append(users, legacy{"node" + string(rune('a'+i)) + "@example.com", u.hash, u.password})
		}
		var lines []string
		for i, u := range users {
			lines = append(lines, jsonLine(t, map[string]any{"email": u.email, "passwordHash": u.hash, "name": "Legacy " + string(rune('A'+i))}))
			if i == 1 {
				lines = append(lines, "") // blank lines are skipped
			}
		}
		file := filepath.Join(t.TempDir(), "users.jsonl")
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := runCLI(t, env, "", "users", "import", file)
		if err != nil || !strings.Contains(out, "imported 6 user(s)") {
			t.Fatalf("import: %v\n%s%s", err, out, errOut)
		}

		s := startServer(t, env)
		db := openDB(t, dbURL)
		for _, u := range users {
			if st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": u.email, "password": "wrong password"}); st != 401 {
				t.Fatalf("%s with a wrong password: %d", u.email, st)
			}
			lr := s.login(t, u.email, u.password)
			got, err := db.UserByEmail(context.Background(), u.email)
			if err != nil || !strings.HasPrefix(got.PasswordHash, "$argon2id$") || !strings.HasPrefix(got.Name, "Legacy ") {
				t.Fatalf("%s after login: %+v %v", u.email, got, err)
			}
			if st, _, _ := s.get(t, "/auth/me", bearer(lr.Token)...); st != 200 {
				t.Fatalf("%s me: %d", u.email, st)
			}
			s.login(t, u.email, u.password) // and again, now with argon2id
		}
		if countEvents(t, db, "user.import") != 1 {
			t.Fatal("no user.import audit event")
		}
	})
}

// An import with bad lines reports every one with its line number and
// reason and writes nothing; an existing email is reported, never
// overwritten.
func TestUsersImportReportsBadLinesAndWritesNothing(t *testing.T) {
	h10, _ := goHashes(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runCLI(t, env, "existing password\n", "users", "create", "--email", "taken@example.com", "--password-stdin"); err != nil {
			t.Fatal(err)
		}
		lines := []string{
			jsonLine(t, map[string]any{"email": "good@example.com", "passwordHash": h10, "name": "Good"}),               // 1
			`{"email": "broken@example.com", "passwordHash": `,                                                          // 2
			jsonLine(t, map[string]any{"email": "not-an-email", "passwordHash": h10}),                                   // 3
			jsonLine(t, map[string]any{"email": "argon@example.com", "passwordHash": "$argon2id$v=19$m=1,t=1,p=1$x$y"}), // 4
			jsonLine(t, map[string]any{"email": "nohash@example.com"}),                                                  // 5
			jsonLine(t, map[string]any{"email": "Good@Example.com", "passwordHash": h10}),                               // 6 duplicate of 1
			jsonLine(t, map[string]any{"email": "taken@example.com", "passwordHash": h10}),                              // 7 exists
			jsonLine(t, map[string]any{"email": "short@example.com", "passwordHash": h10[:40]}),                         // 8
			jsonLine(t, map[string]any{"email": "extra@example.com", "passwordHash": h10, "password": "plain"}),         // 9
			`["an", "array"]`, // 10
			jsonLine(t, map[string]any{"email": "fine@example.com", "passwordHash": h10}), // 11
		}
		file := filepath.Join(t.TempDir(), "bad.jsonl")
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := runCLI(t, env, "", "users", "import", file)
		if err == nil || !strings.Contains(err.Error(), "nothing was imported") {
			t.Fatalf("import of a bad file: %v", err)
		}
		for _, want := range []string{
			"line 2: not a JSON object",
			"line 3: email: is not a valid address",
			"line 4: passwordHash is not a bcrypt hash",
			"line 5: passwordHash is missing",
			"line 6: email good@example.com already appears on line 1",
			"line 7: email taken@example.com is already registered",
			"line 8: passwordHash is not a complete bcrypt hash",
			`line 9: unknown field "password"`,
			"line 10: not a JSON object",
		} {
			if !strings.Contains(errOut, want) {
				t.Fatalf("report lacks %q:\n%s", want, errOut)
			}
		}
		for _, n := range []string{"line 1:", "line 11:"} {
			if strings.Contains(errOut, n) {
				t.Fatalf("a good line was reported (%s):\n%s", n, errOut)
			}
		}
		if strings.Contains(errOut, h10) {
			t.Fatal("the report echoes a password hash")
		}
		if n := countRows(t, dbURL, "users"); n != 1 {
			t.Fatalf("%d users after a refused import, want only the existing one", n)
		}

		// Only the existing email wrong: still nothing written, and the
		// existing account keeps its password.
		file2 := filepath.Join(t.TempDir(), "taken.jsonl")
		os.WriteFile(file2, []byte(lines[0]+"\n"+lines[6]+"\n"), 0o600)
		if _, errOut, err := runCLI(t, env, "", "users", "import", file2); err == nil || !strings.Contains(errOut, "line 2: email taken@example.com is already registered") {
			t.Fatalf("import over an existing email: %v %s", err, errOut)
		}
		if n := countRows(t, dbURL, "users"); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
		s := startServer(t, env)
		s.login(t, "taken@example.com", "existing password")

		if _, _, err := runCLI(t, env, "", "users", "import", filepath.Join(t.TempDir(), "missing.jsonl")); err == nil {
			t.Fatal("a missing file was accepted")
		}
		if _, _, err := runCLI(t, env, "", "users", "import"); err == nil {
			t.Fatal("import without a file was accepted")
		}
	})
}

// sigil clients create|list|delete: the secret is printed once and works
// at the token endpoint; list never shows it.
func TestClientsCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
			t.Fatal(err)
		}
		out, _, err := runCLI(t, env, "", "clients", "create", "--name", "Billing", "--scopes", "read write", "--audience", "billing-api", "--token-ttl", "5m")
		if err != nil {
			t.Fatal(err)
		}
		var id, secret string
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "client_id:"); ok {
				id = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
				secret = strings.TrimSpace(v)
			}
		}
		if id == "" || len(secret) != 43 {
			t.Fatalf("create output %q", out)
		}
		for _, bad := range [][]string{
			{"clients", "create", "--scopes", "a", "--audience", "x"},
			{"clients", "create", "--name", "n"},
			{"clients", "create", "--name", "n", "--audience", "x", "--token-ttl", "1h"},
			{"clients", "delete"},
			{"clients", "frobnicate"},
		} {
			if _, _, err := runCLI(t, env, "", bad...); err == nil {
				t.Fatalf("%v accepted", bad)
			}
		}
		out, _, err = runCLI(t, env, "", "clients", "list")
		if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "read write") || !strings.Contains(out, "billing-api") || !strings.Contains(out, "5m0s") || strings.Contains(out, secret) {
			t.Fatalf("list: %v\n%s", err, out)
		}

		s := startServer(t, env)
		st, h, b := s.postForm(t, "/oauth2/token", map[string][]string{"grant_type": {"client_credentials"}, "scope": {"read"}}, basic(id, secret)...)
		if a := tokenOK(t, "token with CLI client", st, h, b); a.ExpiresIn != 300 || a.Scope != "read" {
			t.Fatalf("token %s", b)
		}
		s.stop()

		if out, _, err := runCLI(t, env, "", "clients", "delete", id); err != nil || !strings.Contains(out, "deleted client "+id) {
			t.Fatalf("delete: %v %s", err, out)
		}
		if _, _, err := runCLI(t, env, "", "clients", "delete", id); err == nil || !strings.Contains(err.Error(), "no client") {
			t.Fatalf("second delete: %v", err)
		}
	})
}
