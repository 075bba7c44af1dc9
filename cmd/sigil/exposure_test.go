package main

import (
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// `sigil --help` (and each command's help) shows which value a setting
// has, never a secret in it: the passwords of the database and SMTP URLs
// are masked, the key-encryption keys and the administrator password are
// only said to be set.
func TestHelpRedactsSecrets(t *testing.T) {
	const (
		dbPass   = "db-Pa55word-xyz"
		smtpPass = "smtp-Pa55word-xyz"
		adminPw  = "admin-Pa55word-xyz"
	)
	env := map[string]string{
		"SIGIL_DATABASE_URL":       "postgres://sigil:" + dbPass + "@db.internal:5432/sigil?sslmode=disable",
		"SIGIL_SMTP_URL":           "smtp://mailer:" + smtpPass + "@mail.internal:587",
		"SIGIL_KEY_ENCRYPTION_KEY": "k1:" + testKEK,
		"SIGIL_ADMIN_EMAIL":        "root@example.com",
		"SIGIL_ADMIN_PASSWORD":     adminPw,
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "-h"}} {
		stdout, stderr, _ := runCLI(t, env, "", args...)
		out := stdout + stderr
		for _, secret := range []string{dbPass, smtpPass, adminPw, testKEK} {
			if strings.Contains(out, secret) {
				t.Fatalf("sigil %s prints a secret (%s):\n%s", strings.Join(args, " "), secret, grepLines(out, secret))
			}
		}
		if !strings.Contains(out, "postgres://sigil:xxxxx@db.internal:5432/sigil") {
			t.Errorf("sigil %s does not show the database URL with its password masked:\n%s", strings.Join(args, " "), grepLines(out, "database-url"))
		}
		if !strings.Contains(out, "smtp://mailer:xxxxx@mail.internal:587") {
			t.Errorf("sigil %s does not show the SMTP URL with its password masked:\n%s", strings.Join(args, " "), grepLines(out, "smtp-url"))
		}
	}
}

// Started with an http:// issuer on an address other hosts reach, Sigil
// warns (tokens and passwords would cross the network in clear); on a
// loopback address it does not.
func TestHTTPIssuerOnNonLoopbackAddressWarns(t *testing.T) {
	cases := []struct {
		addr, issuer string
		warn         bool
	}{
		{"0.0.0.0:0", "http://sigil.example.com", true},
		{"0.0.0.0:0", "https://sigil.example.com", false},
		{"127.0.0.1:0", "http://127.0.0.1:8080", false},
	}
	for _, c := range cases {
		s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_ADDR": c.addr, "SIGIL_ISSUER": c.issuer}))
		s.stop()
		warned := strings.Contains(s.stderr.String(), "issuer is http:// on a non-loopback address")
		if warned != c.warn {
			t.Errorf("addr %s issuer %s: warned %v, want %v:\n%s", c.addr, c.issuer, warned, c.warn, s.stderr.String())
		}
	}
}
