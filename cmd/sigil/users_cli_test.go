package main

import (
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// TestUsersCLI manages users from the command line on the database of a
// running server, and the server sees the changes.
func TestUsersCLI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		s := startServer(t, env)
		tag := randomSuffix()
		a := s.signupLogin(t, "cli-a-"+tag+"@example.com", "correct horse battery")
		s.signupLogin(t, "cli-b-"+tag+"@example.com", "correct horse battery")

		out, errOut, err := runCLI(t, env, "", "users", "list", "--email", tag)
		if err != nil {
			t.Fatalf("list: %v %s", err, errOut)
		}
		if !strings.Contains(out, "cli-a-"+tag) || !strings.Contains(out, "cli-b-"+tag) || strings.Count(out, "\n") != 3 {
			t.Fatalf("list:\n%s", out)
		}
		if out, _, _ = runCLI(t, env, "", "users", "list", "--email", tag, "--limit", "1"); strings.Count(out, "\n") != 2 {
			t.Fatalf("list --limit 1:\n%s", out)
		}
		if _, _, err = runCLI(t, env, "", "users", "lock", a.UserID); err != nil {
			t.Fatal(err)
		}
		st, _, b := s.postJSON(t, "/auth/login", map[string]string{"email": "cli-a-" + tag + "@example.com", "password": "correct horse battery"})
		wantStatus(t, "locked login", st, b, 403)
		if _, _, err = runCLI(t, env, "", "users", "unlock", a.UserID); err != nil {
			t.Fatal(err)
		}
		if _, _, err = runCLI(t, env, "", "users", "set-roles", a.UserID, "admin,support"); err != nil {
			t.Fatal(err)
		}
		out, _, err = runCLI(t, env, "", "users", "show", a.UserID)
		if err != nil || !strings.Contains(out, "locked:         false") || !strings.Contains(out, "roles:          admin support") {
			t.Fatalf("show: %v\n%s", err, out)
		}
		if _, _, err = runCLI(t, env, "", "users", "set-roles", a.UserID, "Not A Role"); err == nil || !strings.Contains(err.Error(), "roles") {
			t.Fatalf("bad role: %v", err)
		}
		if _, _, err = runCLI(t, env, "", "users", "delete", a.UserID); err != nil {
			t.Fatal(err)
		}
		if _, _, err = runCLI(t, env, "", "users", "show", a.UserID); err == nil || !strings.Contains(err.Error(), "no user") {
			t.Fatalf("show deleted: %v", err)
		}
		if _, _, err = runCLI(t, env, "", "users", "lock"); err == nil {
			t.Fatal("lock without an id succeeded")
		}
	})
}
