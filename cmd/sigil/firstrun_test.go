package main

import (
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
