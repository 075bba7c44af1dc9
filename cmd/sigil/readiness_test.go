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
// the instance verifies with the keys the database publishes (its old key,
// now retired, still among them), stops issuing since its key is no longer
// the active one, answers /readyz 503 with the reason (the kid and the
// missing KEK id, never key material), and logs the problem once however many reloads meet it. A
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
		// Taken now: once the rotation lands this instance issues nothing.
		admin := s.adminToken(t)

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
		// gets the detail. The instance no longer signs with the key the
		// rotation retired, so it names no active kid.
		if m["status"] != "unavailable" || !strings.Contains(m["reason"], "signing keys unusable") || strings.Contains(m["reason"], `"b"`) || strings.Contains(m["reason"], newKID) || m["activeKid"] != "" {
			t.Fatalf("anonymous /readyz answer %v: want the keys unusable without the KEK id b or the kid %s, and no active kid", m, newKID)
		}
		_, _, body := s.get(t, "/readyz", bearer(admin)...)
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

		// It keeps verifying while many reloads meet the same problem,
		// and issues nothing: its old key is retired.
		time.Sleep(time.Second) // about ten periodic reloads
		if st, _, body := s.get(t, "/auth/me", bearer(before.Token)...); st != http.StatusOK {
			t.Fatalf("/auth/me with a token from before: %d %s", st, body)
		}
		if !jwksPublishes(t, s, oldKID) || !jwksPublishes(t, s, newKID) {
			t.Fatalf("JWKS should publish the retired %s and the new active %s", oldKID, newKID)
		}
		st, _, body := s.postJSON(t, "/auth/login", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
		if st != http.StatusServiceUnavailable {
			t.Fatalf("login with no key this instance may sign with: %d %s", st, body)
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

// Two instances with different key-encryption keys: when the other one
// revokes the active key and its replacement is sealed under a KEK this
// one lacks, this one cannot build a signer, yet it must not go on with its
// last keyring. It reloads the public keys from the database: the revoked
// key leaves its JWKS and tokens under it are refused, tokens under the new
// key verify, and since its own key is no longer active it stops issuing
// (503) instead of signing with a revoked key.
func TestInstanceWithoutTheKEKDropsARevokedKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		kekA, kekB := newTestKEK(t), newTestKEK(t)
		onlyA := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "a:" + kekA, "SIGIL_KEY_RELOAD_INTERVAL": "100ms"}))
		both := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "b:" + kekB + ",a:" + kekA, "SIGIL_KEY_RELOAD_INTERVAL": "100ms"}))
		before := onlyA.signupLogin(t, "ada@example.com", "correct horse battery")
		oldKID := tokenHeader(t, before.Token)["kid"].(string)

		admin := both.adminToken(t)
		if st, _, body := both.postJSON(t, "/admin/keys/"+oldKID+"/revoke", nil, bearer(admin)...); st != http.StatusOK {
			t.Fatalf("revoke the active key: %d %s", st, body)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			st, _ := onlyA.readyz(t)
			if st == http.StatusServiceUnavailable && !jwksPublishes(t, onlyA, oldKID) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz %d, JWKS still has the revoked %s: %v 15s after the revocation", st, oldKID, jwksPublishes(t, onlyA, oldKID))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st, _, body := onlyA.get(t, "/auth/me", bearer(before.Token)...); st != http.StatusUnauthorized {
			t.Fatalf("/auth/me with a token under the revoked key: %d %s", st, body)
		}
		st, h, body := onlyA.postJSON(t, "/auth/login", map[string]string{"email": "ada@example.com", "password": "correct horse battery"})
		if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(body), "unavailable") {
			t.Fatalf("login on the instance that lost its signing key: %d %s", st, body)
		}
		// A token from the instance that can sign verifies here.
		fresh := both.login(t, "ada@example.com", "correct horse battery")
		newKID := tokenHeader(t, fresh.Token)["kid"].(string)
		if newKID == oldKID || !jwksPublishes(t, onlyA, newKID) {
			t.Fatalf("new key %s not published by the instance without its KEK", newKID)
		}
		if st, _, body := onlyA.get(t, "/auth/me", bearer(fresh.Token)...); st != http.StatusOK {
			t.Fatalf("/auth/me with a token under the new key: %d %s", st, body)
		}
	})
}
