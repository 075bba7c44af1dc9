package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// The start-up banner leads a first-time user to the browser pages as well
// as the REST API, and says where the mail Sigil sends goes.
func TestBannerNamesBrowserPagesAndMail(t *testing.T) {
	env := testEnv(storetest.SQLiteURL(t), nil)
	s := startServer(t, env)
	out := s.stdout.String()
	for _, page := range []string{"/login", "/account", "/console/"} {
		if !strings.Contains(out, env["SIGIL_ISSUER"]+page+" ") {
			t.Errorf("banner does not show %s%s:\n%s", env["SIGIL_ISSUER"], page, out)
		}
	}
	if !strings.Contains(out, "written to the log") {
		t.Errorf("banner does not say mail is logged without SIGIL_SMTP_URL:\n%s", out)
	}
	if !strings.Contains(out, "curl -s "+s.Base+"/.well-known/jwks.json") {
		t.Errorf("banner lost its curl lines:\n%s", out)
	}

	smtp := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_SMTP_URL": "smtp://mailer:secret@127.0.0.1:2525", "SIGIL_MAIL_FROM": "sigil@example.com",
	}))
	out = smtp.stdout.String()
	if !strings.Contains(out, "SMTP server smtp://127.0.0.1:2525") || strings.Contains(out, "secret") || strings.Contains(out, "written to the log") {
		t.Errorf("banner with SIGIL_SMTP_URL:\n%s", out)
	}
}

// On an issuer whose host is an IP address (the default,
// http://127.0.0.1:8080) passkeys cannot work: start-up says so in one
// plain INFO line that tells how to get them, not a WARN that reads like
// a failure. A host name gets no such line.
func TestPasskeysOffOnIPIssuerIsOneInfoLine(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_ADDR": addr, "SIGIL_ISSUER": "http://" + addr, "SIGIL_LOG_LEVEL": "info",
	}))
	var lines []string
	for _, l := range strings.Split(s.stderr.String(), "\n") {
		if strings.Contains(l, "WebAuthn") || strings.Contains(l, "passkey") || strings.Contains(l, "RPID") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "SIGIL_ISSUER=http://localhost:"+port) {
		t.Errorf("want one INFO line naming SIGIL_ISSUER=http://localhost:%s, got %q", port, lines)
	}

	named := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_ISSUER": "http://localhost:8080", "SIGIL_LOG_LEVEL": "info"}))
	if l := named.stderr.String(); strings.Contains(l, "passkeys are off") || strings.Contains(l, "WebAuthn") {
		t.Errorf("a host-name issuer logs about passkeys:\n%s", l)
	}
}

// The migration log line of a fresh database names every migration it
// applied.
func TestMigrationLogNamesEveryAppliedMigration(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_LOG_LEVEL": "info"}))
	var line string
	for _, l := range strings.Split(s.stderr.String(), "\n") {
		if strings.Contains(l, "database migrated") {
			line = l
		}
	}
	files, err := os.ReadDir("../../store/migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(f.Name(), ".sql"); !strings.Contains(line, name) {
			t.Errorf("migration log line does not name %s: %s", name, line)
		}
	}
}

// The migration guide's users come before Sigil was ever started:
// subcommands on a fresh embedded SQLite database migrate it as serve
// does, instead of failing after writing the key-encryption key file.
func TestSubcommandsMigrateFreshSQLite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.jsonl")
	line := jsonLine(t, map[string]any{"email": "legacy@example.com", "passwordHash": fixtureHash10, "name": "Legacy"})
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"users", "import", file},
		{"users", "list"},
		{"clients", "list"},
		{"keys", "list"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			dbURL := storetest.SQLiteURL(t)
			out, errOut, err := runCLI(t, testEnv(dbURL, nil), "", args...)
			if err != nil {
				t.Fatalf("sigil %s on a fresh database: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
			}
			if args[1] == "import" && countRows(t, dbURL, "users") != 1 {
				t.Errorf("import stored %d users, want 1", countRows(t, dbURL, "users"))
			}
		})
	}
}
