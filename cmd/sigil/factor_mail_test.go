package main

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Every second factor added or removed mails the user a notice naming
// it, through the real outbox and SMTP server: an authenticator app
// enrolled, new recovery codes, a passkey added and removed (by name),
// the authenticator removed, and an administrator's reset. A refused
// change mails nothing. On both stores.
func TestFactorChangesMailTheUser(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := mp.mailEnv(browserEnv(t, dbURL, nil))
		s := startServerClock(t, env, clock.Now)
		const pw = "a long enough password"
		email := uniqueEmail("factor-notices")
		u := s.signupLogin(t, email, pw)

		// Notices only: a signup may mail a link too.
		notices := func() []mpMessage {
			var out []mpMessage
			for _, m := range mp.messagesTo(t, email) {
				if strings.Contains(m.Subject, "second factor") {
					out = append(out, m)
				}
			}
			return out
		}
		// next waits for the n-th notice and checks its subject and text.
		next := func(n int, subject string, text ...string) {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			var got []mpMessage
			for got = notices(); len(got) < n && time.Now().Before(deadline); got = notices() {
				time.Sleep(50 * time.Millisecond)
			}
			if len(got) != n {
				t.Fatalf("%d notice(s), want %d (%s)", len(got), n, subject)
			}
			m := got[n-1]
			if !strings.Contains(m.Subject, subject) {
				t.Errorf("notice %d: subject %q, want %q", n, m.Subject, subject)
			}
			for _, want := range append(text, email) {
				if !strings.Contains(m.Text, want) || !strings.Contains(html.UnescapeString(m.HTML), want) {
					t.Errorf("notice %d (%s) lacks %q:\n%s", n, m.Subject, want, m.Text)
				}
			}
		}

		// Refused: a wrong password adds nothing and mails nothing.
		if st, _, _ := doJSON(t, s, http.MethodPost, "/auth/mfa/totp", `{"password":"not the password"}`, u.Token); st != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", st)
		}

		secret, recovery := enrolTOTP(t, s, u.Token, pw, clock)
		next(1, "A second factor was added", "authenticator app")

		st, _, b := doJSON(t, s, http.MethodPost, "/auth/mfa/recovery-codes", `{"code":"`+recovery[0]+`"}`, u.Token)
		if st != http.StatusOK {
			t.Fatalf("new recovery codes: %d %s", st, b)
		}
		next(2, "A second factor was added", "new recovery codes")

		key := newSoftKey(t, env["SIGIL_ISSUER"], "localhost")
		registerSoftKey(t, s, u.Token, pw, key, "Work laptop")
		next(3, "A second factor was added", `passkey or security key named "Work laptop"`)

		st, _, b = doJSON(t, s, http.MethodDelete, "/auth/mfa/webauthn/credentials/"+key.credentialID(), `{"password":"`+pw+`"}`, u.Token)
		if st != http.StatusNoContent {
			t.Fatalf("remove passkey: %d %s", st, b)
		}
		next(4, "A second factor was removed", `passkey or security key named "Work laptop"`)

		clock.Add(30 * time.Second)
		st, _, b = doJSON(t, s, http.MethodDelete, "/auth/mfa/totp", `{"code":"`+totpCode(t, secret, clock.Now())+`"}`, u.Token)
		if st != http.StatusNoContent {
			t.Fatalf("remove TOTP: %d %s", st, b)
		}
		next(5, "A second factor was removed", "authenticator app", "recovery codes")

		clock.Add(30 * time.Second)
		enrolTOTP(t, s, u.Token, pw, clock)
		next(6, "A second factor was added", "authenticator app")
		if st, _, b := doJSON(t, s, http.MethodDelete, "/admin/users/"+u.UserID+"/mfa", "", s.adminToken(t)); st != http.StatusNoContent {
			t.Fatalf("reset: %d %s", st, b)
		}
		next(7, "second factors of your", "removed", "passkeys")

		time.Sleep(time.Second) // a stray notice would have come by now
		if n := len(notices()); n != 7 {
			t.Errorf("%d notices, want 7", n)
		}
	})
}
