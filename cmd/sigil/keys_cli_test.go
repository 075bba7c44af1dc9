package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store/storetest"
)

// waitForSigner polls until new logins on s are signed by kid and the JWKS
// publishes it, and returns how long that took.
func waitUntilSigning(t *testing.T, s *server, email, kid string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if jwksPublishes(t, s, kid) {
			lr := s.login(t, email, "correct horse battery")
			if tokenHeader(t, lr.Token)["kid"] == kid {
				return time.Since(start)
			}
		}
		if time.Since(start) > timeout {
			t.Fatalf("server did not pick up key %s within %s", kid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKeysRotateFromCLIIsFollowedByRunningServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		extra := map[string]string{}
		if strings.HasPrefix(dbURL, "sqlite") {
			// SQLite has no notifications: the periodic reload is the path.
			extra["SIGIL_KEY_RELOAD_INTERVAL"] = "300ms"
		}
		// On Postgres the default 30 s reload is far beyond the wait
		// below, so only LISTEN/NOTIFY can deliver the change in time.
		env := testEnv(dbURL, extra)
		s := startServer(t, env)
		user := s.signupLogin(t, "ada@example.com", "correct horse battery")
		old := tokenHeader(t, user.Token)["kid"].(string)

		out, _, err := runCLI(t, env, "", "keys", "rotate", "--alg", "ES256")
		if err != nil || !strings.HasPrefix(out, "rotated: ") {
			t.Fatalf("keys rotate: %q %v", out, err)
		}
		kid := strings.Fields(strings.TrimPrefix(out, "rotated: "))[0]
		took := waitUntilSigning(t, s, "ada@example.com", kid, 10*time.Second)
		t.Logf("server signed with the key rotated from the CLI after %s", took)

		if st, _, _ := s.get(t, "/auth/me", bearer(user.Token)...); st != http.StatusOK {
			t.Fatalf("token from before the CLI rotation: %d", st)
		}
		out, _, err = runCLI(t, env, "", "keys", "list")
		if err != nil || !strings.Contains(out, kid) || !strings.Contains(out, old) || !strings.Contains(out, "retired") || !strings.Contains(out, "ES256") {
			t.Fatalf("keys list:\n%s %v", out, err)
		}

		out, _, err = runCLI(t, env, "", "keys", "revoke", old)
		if err != nil || !strings.Contains(out, "revoked: "+old) {
			t.Fatalf("keys revoke: %q %v", out, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for jwksPublishes(t, s, old) {
			if time.Now().After(deadline) {
				t.Fatal("key revoked from the CLI is still published")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st, _, _ := s.get(t, "/auth/me", bearer(user.Token)...); st != http.StatusUnauthorized {
			t.Fatalf("token of a key revoked from the CLI: %d", st)
		}
		if _, _, err := runCLI(t, env, "", "keys", "revoke", "no-such-kid"); err == nil || !strings.Contains(err.Error(), `no key with kid "no-such-kid"`) {
			t.Fatalf("revoke of an unknown kid: %v", err)
		}
		if _, _, err := runCLI(t, env, "", "keys", "rotate", "--alg", "HS256"); err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("rotate to HS256: %v", err)
		}
		for _, typ := range []string{"key.activated", "key.revoked"} {
			found := false
			for _, e := range auditEvents(t, dbURL, authority.EventQuery{Type: typ}) {
				if e.Actor == "cli" && e.Detail != "" && (e.KID == kid || e.KID == old) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s audit event by the cli", typ)
			}
		}
	})
}

func newTestKEK(t *testing.T) string {
	t.Helper()
	k, err := keys.NewKEK()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKeyEncryptionKeyRotation follows docs/keys.md: add the new KEK first,
// rewrap, drop the old one.
func TestKeyEncryptionKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		oldKEK, newKEK := "old:"+newTestKEK(t), "new:"+newTestKEK(t)
		env := testEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": oldKEK})
		s := startServer(t, env)
		user := s.signupLogin(t, "ada@example.com", "correct horse battery")
		if _, _, err := runCLI(t, env, "", "keys", "rotate"); err != nil {
			t.Fatal(err)
		}
		s.stop()

		// Only the new KEK: the active key cannot be unsealed, and the
		// start-up error names it.
		_, activeKID := activePrivateKey(t, env)
		onlyNew := testEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": newKEK})
		_, _, err := runCLI(t, onlyNew, "", "serve")
		if err == nil || !strings.Contains(err.Error(), activeKID) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("start with a KEK that cannot unseal the active key: %v", err)
		}

		both := testEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": newKEK + "," + oldKEK})
		out, _, err := runCLI(t, both, "", "keys", "rewrap")
		if err != nil || !strings.Contains(out, "rewrapped 2 key(s) under key-encryption key new") {
			t.Fatalf("keys rewrap: %q %v", out, err)
		}
		out, _, err = runCLI(t, both, "", "keys", "rewrap")
		if err != nil || !strings.Contains(out, "rewrapped 0 key(s)") {
			t.Fatalf("second rewrap: %q %v", out, err)
		}
		rewrapped := auditEvents(t, dbURL, authority.EventQuery{Type: "key.rewrapped"})
		if len(rewrapped) != 2 || rewrapped[0].Actor != "cli" || !strings.Contains(rewrapped[0].Detail, "new") {
			t.Fatalf("key.rewrapped events: %+v", rewrapped)
		}

		// The old KEK is no longer needed.
		s = startServer(t, onlyNew)
		if st, _, _ := s.get(t, "/auth/me", bearer(user.Token)...); st != http.StatusOK {
			t.Fatalf("token signed before the KEK rotation: %d", st)
		}
		s.login(t, "ada@example.com", "correct horse battery")
	})
}

func TestKeyTimingConfigurationIsChecked(t *testing.T) {
	cases := []struct {
		name   string
		env    map[string]string
		prefix string
	}{
		{"publish-ahead equal to the JWKS max-age", map[string]string{"SIGIL_ROTATION_PERIOD": "720h", "SIGIL_PUBLISH_AHEAD": "5m", "SIGIL_JWKS_MAX_AGE": "5m"}, "SIGIL_PUBLISH_AHEAD"},
		{"publish-ahead below the JWKS max-age", map[string]string{"SIGIL_ROTATION_PERIOD": "720h", "SIGIL_PUBLISH_AHEAD": "1m", "SIGIL_JWKS_MAX_AGE": "5m"}, "SIGIL_PUBLISH_AHEAD"},
		{"rotation period equal to publish-ahead", map[string]string{"SIGIL_ROTATION_PERIOD": "1h", "SIGIL_PUBLISH_AHEAD": "1h"}, "SIGIL_ROTATION_PERIOD"},
		{"rotation period below publish-ahead", map[string]string{"SIGIL_ROTATION_PERIOD": "30m", "SIGIL_PUBLISH_AHEAD": "1h"}, "SIGIL_ROTATION_PERIOD"},
		{"reload interval too short", map[string]string{"SIGIL_KEY_RELOAD_INTERVAL": "1ms"}, "SIGIL_KEY_RELOAD_INTERVAL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(storetest.SQLiteURL(t), c.env)
			_, _, err := runCLI(t, env, "", "serve")
			if err == nil || !strings.HasPrefix(err.Error(), c.prefix) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line starting with %s", err, c.prefix)
			}
		})
	}
	// Rotation off: publish-ahead is not used and not checked.
	env := testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_ROTATION_PERIOD": "0", "SIGIL_PUBLISH_AHEAD": "1m"})
	startServer(t, env)
}

// TestScheduledRotationPublishesBeforeSigning runs the real schedule with
// short periods and watches it over HTTP: the next key appears in the JWKS
// while the old one still signs, then signs, while the old one stays
// published for the tokens it signed.
func TestScheduledRotationPublishesBeforeSigning(t *testing.T) {
	env := testEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_ROTATION_PERIOD": "3s", "SIGIL_PUBLISH_AHEAD": "2s", "SIGIL_JWKS_MAX_AGE": "1s",
		"SIGIL_KEY_RELOAD_INTERVAL": "200ms", "SIGIL_SIGNING_ALG": "EdDSA",
	})
	s := startServer(t, env)
	first := s.signupLogin(t, "ada@example.com", "correct horse battery")
	k1 := tokenHeader(t, first.Token)["kid"].(string)
	var k2 string
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled rotation (k2 %q)", k2)
		}
		signer := tokenHeader(t, s.login(t, "ada@example.com", "correct horse battery").Token)["kid"].(string)
		_, _, body := s.get(t, "/.well-known/jwks.json")
		published := map[string]bool{}
		var set struct{ Keys []struct{ KID string } }
		decode(t, body, &set)
		for _, k := range set.Keys {
			published[k.KID] = true
		}
		if !published[signer] || !published[k1] {
			t.Fatalf("signer %s or first key %s missing from the JWKS %s", signer, k1, body)
		}
		if k2 == "" && len(set.Keys) > 1 && signer == k1 {
			for kid := range published {
				if kid != k1 {
					k2 = kid // published ahead, not signing yet
				}
			}
		}
		if signer != k1 {
			if signer != k2 {
				t.Fatalf("key %s signed without having been seen published ahead (pending seen: %q)", signer, k2)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st, _, _ := s.get(t, "/auth/me", bearer(first.Token)...); st != http.StatusOK {
		t.Fatalf("token of the retired key: %d", st)
	}
	for _, typ := range []string{"key.created", "key.activated", "key.retired"} {
		found := false
		for _, e := range auditEvents(t, env["SIGIL_DATABASE_URL"], authority.EventQuery{Type: typ}) {
			found = found || (e.Actor == "schedule" && (e.KID == k1 || e.KID == k2))
		}
		if !found {
			t.Errorf("no %s event by the schedule", typ)
		}
	}
}
