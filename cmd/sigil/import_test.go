package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sigil-auth/sigil/store/storetest"
)

// legacyUser is a user exported from another system with a bcrypt hash.
type legacyUser struct {
	email, hash, password string
	cost                  int
	// raceBackend is the one backend where the user logs in when the
	// race detector runs ("" for none): bcrypt at cost 12 takes over ten
	// seconds there, so under -race each slow login runs once, not twice.
	raceBackend string
}

// The hashes are fixtures made once by the libraries named, so the tests
// need neither Node nor minutes of bcrypt: golang.org/x/crypto/bcrypt's
// GenerateFromPassword at cost 10 and 12, and bcryptjs (the library of
// Node/Express apps) 2.4.3, which writes $2a$, and 3.x, which writes $2b$.
var legacyUsers = []legacyUser{
	{"go10@example.com", "$2a$10$MM52tatnzqaT5ksTJVr1Q.aMk8IsPjzevtRIAj457Lv1yV7W2nhRW", "go password", 10, "both"},
	{"go12@example.com", "$2a$12$mRDSQipNGFiKXT5LFGazjevbjJriMl9wE./KzQC1./hTpE7Z13NZC", "go password", 12, "sqlite"},
	{"go2y@example.com", "$2y$10$MM52tatnzqaT5ksTJVr1Q.aMk8IsPjzevtRIAj457Lv1yV7W2nhRW", "go password", 10, "postgres"},
	{"node10@example.com", "$2a$10$L6zWAJSZqX.jqLQ9DncXy.zSk7YflB9xXbaH.FMam5rqFo9Rdmb3e", "node password 10", 10, "postgres"},
	{"node12@example.com", "$2a$12$x4soRGGI/zdxBQgK/sxlRuocj79wW59MeFHiCb9OdqnAGVbvGXAlC", "node password 12", 12, ""},
	{"node2b@example.com", "$2b$10$5RgP6x6LfBKsPLylFPXtJ.ceNm6DaqKB3uqZVMdRpBvuVxR3YjRLO", "node password 3", 10, "sqlite"},
}

const fixtureHash10 = "$2a$10$MM52tatnzqaT5ksTJVr1Q.aMk8IsPjzevtRIAj457Lv1yV7W2nhRW"

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
	for _, u := range legacyUsers {
		h := "$2a$" + u.hash[4:]
		if c, err := bcrypt.Cost([]byte(h)); err != nil || c != u.cost {
			t.Fatalf("fixture %s: cost %d, %v", u.email, c, err)
		}
	}
	// A hash made here and now, at the cheapest cost, guards against
	// fixtures that only look right.
	fresh, err := bcrypt.GenerateFromPassword([]byte("fresh password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := append(legacyUsers[:len(legacyUsers):len(legacyUsers)], legacyUser{"fresh@example.com", string(fresh), "fresh password", bcrypt.MinCost, "both"})
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dbURL := b.NewURL(t)
			env := testEnv(dbURL, nil)
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
			if err != nil || !strings.Contains(out, "imported 7 user(s)") {
				t.Fatalf("import: %v\n%s%s", err, out, errOut)
			}
			if n := countRows(t, dbURL, "users"); n != 7 {
				t.Fatalf("%d users stored, want 7", n)
			}

			s := startServer(t, env)
			db := openDB(t, dbURL)
			if st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": "fresh@example.com", "password": "wrong password"}); st != 401 {
				t.Fatalf("wrong password: %d", st)
			}
			for _, u := range users {
				if raceEnabled && u.raceBackend != "both" && u.raceBackend != b.Name {
					continue
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
}

// An import with bad lines reports every one with its line number and
// reason and writes nothing; an existing email is reported, never
// overwritten.
func TestUsersImportReportsBadLinesAndWritesNothing(t *testing.T) {
	h10 := fixtureHash10
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

		// Standard input, with "-".
		stdin := jsonLine(t, map[string]any{"email": "piped@example.com", "passwordHash": h10}) + "\n"
		if out, _, err := runCLI(t, env, stdin, "users", "import", "-"); err != nil || !strings.Contains(out, "imported 1 user(s)") {
			t.Fatalf("import from standard input: %v %s", err, out)
		}
		if n := countRows(t, dbURL, "users"); n != 2 {
			t.Fatalf("%d users, want 2", n)
		}

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
			{"clients", "create", "--name", "n", "--audience", "a b"},
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
