package main

import (
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

func TestBadConfigurationStopsWithOneLine(t *testing.T) {
	cases := map[string]string{
		"SIGIL_ACCESS_TOKEN_TTL":        "soon",
		"SIGIL_SIGNING_ALG":             "HS256",
		"SIGIL_DATABASE_URL":            "mysql://x",
		"SIGIL_RATE_LIMIT":              "fast",
		"SIGIL_KEY_ENCRYPTION_KEY":      "short",
		"SIGIL_AUDIT_RETENTION":         "-3d",
		"SIGIL_PRUNE_INTERVAL":          "10ms",
		"SIGIL_REGISTRATION":            "anyone",
		"SIGIL_REGISTRATION_RATE_LIMIT": "lots",
	}
	for name, val := range cases {
		env := testEnv(storetest.SQLiteURL(t), map[string]string{name: val})
		_, _, err := runCLI(t, env, "", "serve")
		if err == nil || !strings.HasPrefix(err.Error(), name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%s: got %v, want one line naming the variable", name, val, err)
		}
	}
}

func TestUsersCreateCommand(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, nil)
	if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, env, "admin password\n", "users", "create", "--email", "Root@Example.com", "--admin", "--password-stdin")
	if err != nil || !strings.Contains(out, "created administrator root@example.com") {
		t.Fatalf("users create: %q %v", out, err)
	}
	if _, _, err := runCLI(t, env, "short\n", "users", "create", "--email", "x@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("short password: %v", err)
	}
	if _, _, err := runCLI(t, env, "admin password\n", "users", "create", "--email", "root@example.com", "--password-stdin"); err == nil {
		t.Fatal("duplicate email accepted")
	}
	s := startServer(t, env)
	lr := s.login(t, "root@example.com", "admin password")
	_, _, body := s.get(t, "/auth/me", bearer(lr.Token)...)
	if !strings.Contains(string(body), `"roles":["admin"]`) {
		t.Fatalf("admin me = %s", body)
	}
}

// `sigil --help` lists every command and every configuration variable.
func TestHelpDescribesEverything(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		out, _, err := runCLI(t, map[string]string{}, "", arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, want := range []string{"serve", "migrate", "keys", "users", "clients", "SIGIL_DATABASE_URL", "SIGIL_KEY_ENCRYPTION_KEY", "SIGIL_ROTATION_PERIOD", "SIGIL_CORS_ORIGINS",
			"registration-tokens", "SIGIL_REGISTRATION", "SIGIL_REGISTRATION_RATE_LIMIT"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %s:\n%s", arg, want, out)
			}
		}
	}
}
