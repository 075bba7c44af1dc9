package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// readyz returns /readyz's status and answer.
func (s *server) readyz(t *testing.T) (int, map[string]string) {
	t.Helper()
	st, _, body := s.get(t, "/readyz")
	var m map[string]string
	decode(t, body, &m)
	return st, m
}

// When a rotation made elsewhere (here `sigil keys rotate` with another
// key-encryption key) leaves an active key this instance cannot unseal,
// the instance keeps verifying and signing with its last keyring, answers
// /readyz 503 with the reason (the kid and the missing KEK id, never key
// material), and logs the problem once however many reloads meet it. A
// rotation it can unseal makes it ready again, without a restart. On
// Postgres the change arrives by notification, on SQLite by the periodic
// reload (SIGIL_KEY_RELOAD_INTERVAL, short here).
func TestReadyzReportsKeysThisInstanceCannotUnseal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		kekA, kekB := newTestKEK(t), newTestKEK(t)
		env := adminEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "a:" + kekA, "SIGIL_KEY_RELOAD_INTERVAL": "100ms", "SIGIL_LOG_LEVEL": "info"})
		s := startServer(t, env)
		before := s.signupLogin(t, "ada@example.com", "correct horse battery")
		if st, m := s.readyz(t); st != http.StatusOK {
			t.Fatalf("/readyz at start: %d %v", st, m)
		}
		oldKID := tokenHeader(t, before.Token)["kid"].(string)

		other := testEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "b:" + kekB})
		out, _, err := runCLI(t, other, "", "keys", "rotate")
		if err != nil {
			t.Fatalf("keys rotate with another KEK: %v", err)
		}
		newKID := strings.Fields(strings.TrimPrefix(out, "rotated: "))[0]

		var m map[string]string
		deadline := time.Now().Add(15 * time.Second)
		for {
			var st int
			if st, m = s.readyz(t); st == http.StatusServiceUnavailable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d %v after a rotation to a key this instance cannot unseal", st, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// An anonymous caller learns that the keys are unusable, not which
		// key-encryption key is missing; an administrator (and the log)
		// gets the detail.
		if m["status"] != "unavailable" || !strings.Contains(m["reason"], "signing keys unusable") || strings.Contains(m["reason"], `"b"`) || strings.Contains(m["reason"], newKID) || m["activeKid"] != oldKID {
			t.Fatalf("anonymous /readyz answer %v: want the keys unusable without the KEK id b or the kid %s, still signing with %s", m, newKID, oldKID)
		}
		_, _, body := s.get(t, "/readyz", bearer(s.adminToken(t))...)
		var am map[string]string
		decode(t, body, &am)
		reason := am["reason"]
		if !strings.Contains(reason, newKID) || !strings.Contains(reason, `"b"`) {
			t.Fatalf("administrator's /readyz answer %v: want the kid %s and KEK id b in the reason", am, newKID)
		}
		if !strings.Contains(s.stderr.String(), `\"b\"`) && !strings.Contains(s.stderr.String(), `"b"`) {
			t.Fatalf("the log lacks the missing KEK id:\n%s", grepLines(s.stderr.String(), "unusable"))
		}
		for _, secret := range []string{kekA, kekB, "PRIVATE", `"d":`} {
			if strings.Contains(reason, secret) || strings.Contains(s.stderr.String(), secret) {
				t.Fatalf("key material in the reason or the log: %q", reason)
			}
		}

		// It keeps serving from its last keyring while many reloads meet
		// the same problem.
		time.Sleep(time.Second) // about ten periodic reloads
		if st, _, body := s.get(t, "/auth/me", bearer(before.Token)...); st != http.StatusOK {
			t.Fatalf("/auth/me with a token from before: %d %s", st, body)
		}
		lr := s.login(t, "ada@example.com", "correct horse battery")
		if kid := tokenHeader(t, lr.Token)["kid"]; kid != oldKID {
			t.Fatalf("signs with %v, want the last loadable key %s", kid, oldKID)
		}
		if st, _, body := s.get(t, "/auth/me", bearer(lr.Token)...); st != http.StatusOK {
			t.Fatalf("/auth/me with a token signed meanwhile: %d %s", st, body)
		}
		if _, _, metrics := s.get(t, "/metrics"); !strings.Contains(string(metrics), "\nsigil_keyring_unusable 1\n") {
			t.Fatalf("/metrics does not report the unusable key set:\n%s", grepLines(string(metrics), "sigil_keyring"))
		}
		if n := strings.Count(s.stderr.String(), "signing keys unusable"); n != 1 {
			t.Fatalf("the problem was logged %d times, want once:\n%s", n, grepLines(s.stderr.String(), "unusable"))
		}

		// A rotation sealed under a KEK it has heals it.
		both := testEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "a:" + kekA + ",b:" + kekB})
		out, _, err = runCLI(t, both, "", "keys", "rotate")
		if err != nil {
			t.Fatal(err)
		}
		healedKID := strings.Fields(strings.TrimPrefix(out, "rotated: "))[0]
		deadline = time.Now().Add(15 * time.Second)
		for {
			st, m := s.readyz(t)
			if st == http.StatusOK && m["activeKid"] == healedKID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz after a rotation this instance can unseal: %d %v", st, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, _, metrics := s.get(t, "/metrics"); !strings.Contains(string(metrics), "\nsigil_keyring_unusable 0\n") {
			t.Fatalf("/metrics still reports an unusable key set:\n%s", grepLines(string(metrics), "sigil_keyring"))
		}
		if n := strings.Count(s.stderr.String(), "signing keys usable again"); n != 1 {
			t.Fatalf("recovery logged %d times, want once", n)
		}
		if kid := tokenHeader(t, s.login(t, "ada@example.com", "correct horse battery").Token)["kid"]; kid != healedKID {
			t.Fatalf("signs with %v after healing, want %s", kid, healedKID)
		}
	})
}
