package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// waitRefused polls GET /auth/me on s with tok until it answers 401.
func waitRefused(t *testing.T, s *server, tok, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, _, body := s.get(t, "/auth/me", bearer(tok)...)
		if st == http.StatusUnauthorized {
			return
		}
		if st != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("%s: /auth/me still %d %s", what, st, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Revoking a session reaches its access tokens, not only its refresh
// tokens: logout, a reused refresh token and a deleted client deny the
// outstanding access tokens of what they revoke, on every instance. The
// logout here is made by an instance whose clock lags ten minutes, which
// the old time-paged deny list missed for good: entries are now read by
// the database's sequence.
func TestRevocationReachesAccessTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		lagging := startServerClock(t, testEnv(dbURL, nil), func() time.Time { return time.Now().Add(-10 * time.Minute) })

		// Logout on the lagging instance; the token was issued by s and
		// is refused by s within its deny-list refresh.
		lr := s.signupLogin(t, "ada@example.com", "correct horse battery")
		if st, _, body := s.get(t, "/auth/me", bearer(lr.Token)...); st != http.StatusOK {
			t.Fatalf("/auth/me before logout: %d %s", st, body)
		}
		if st, _, body := lagging.postJSON(t, "/auth/logout", map[string]string{"refreshToken": lr.RefreshToken}); st/100 != 2 {
			t.Fatalf("logout: %d %s", st, body)
		}
		waitRefused(t, s, lr.Token, "access token of a logged-out session")

		// Refresh-token reuse: the family's access tokens, the first and
		// the one refreshed, are refused at once.
		first := s.login(t, "ada@example.com", "correct horse battery")
		st, _, body := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": first.RefreshToken})
		if st != http.StatusOK {
			t.Fatalf("refresh: %d %s", st, body)
		}
		var second loginResult
		decode(t, body, &second)
		if st, _, _ := s.get(t, "/auth/me", bearer(second.Token)...); st != http.StatusOK {
			t.Fatalf("/auth/me with the refreshed token: %d", st)
		}
		// Within the reuse grace the first presentation again is a retry
		// that answers a new pair; the next one is a reuse.
		family := []string{first.Token, second.Token}
		for i := 0; ; i++ {
			st, _, body := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": first.RefreshToken})
			if st == http.StatusUnauthorized || st == http.StatusBadRequest {
				break
			}
			if st != http.StatusOK || i == 2 {
				t.Fatalf("presentation %d of a spent refresh token: %d %s", i, st, body)
			}
			var retried loginResult
			decode(t, body, &retried)
			family = append(family, retried.Token)
		}
		for _, tok := range family {
			if st, _, body := s.get(t, "/auth/me", bearer(tok)...); st != http.StatusUnauthorized {
				t.Fatalf("access token of a family revoked for reuse: %d %s", st, body)
			}
		}
		waitRefused(t, lagging, second.Token, "the other instance, family revoked for reuse")

		// Client deletion: its client_credentials token is revoked.
		admin := s.adminToken(t)
		id, secret := s.createClient(t, admin, map[string]any{"name": "Billing", "scopes": []string{"read"}, "audience": "billing-api"})
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)...)
		tok := tokenOK(t, "client_credentials", st, h, b).AccessToken
		if in := s.inspect(t, admin, tok, "billing-api"); !in.Valid {
			t.Fatalf("client token before deletion: %+v", in)
		}
		if st, _, b := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id, "", "", bearer(admin)...); st != http.StatusNoContent {
			t.Fatalf("delete client: %d %s", st, b)
		}
		if in := s.inspect(t, admin, tok, "billing-api"); in.Valid || !slices.Contains(in.codes(), "revoked_jti") {
			t.Fatalf("client token after deletion: %+v", in)
		}
	})
}

// Ending sessions from the account API or by an administrator reaches the
// access tokens of those sessions too: one session signed out from
// another, "sign out everywhere", a password change (which spares the
// session it came from), and a locked account.
func TestSessionRevocationReachesAccessTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		const pw = "correct horse battery"
		a := s.signupLogin(t, "bo@example.com", pw)
		b := s.login(t, "bo@example.com", pw)
		sidB, _ := tokenPayload(t, b.Token)["sid"].(string)
		if sidB == "" {
			t.Fatalf("login token without sid: %v", tokenPayload(t, b.Token))
		}

		// One session ended from another.
		if st, _, body := do(t, http.MethodDelete, s.Base+"/auth/sessions/"+url.PathEscape(sidB), "", "", bearer(a.Token)...); st != http.StatusNoContent {
			t.Fatalf("DELETE /auth/sessions/{id}: %d %s", st, body)
		}
		waitRefused(t, s, b.Token, "access token of a session signed out from another")
		if st, _, body := s.get(t, "/auth/me", bearer(a.Token)...); st != http.StatusOK {
			t.Fatalf("the session that signed the other out: %d %s", st, body)
		}

		// A password change spares its own session and ends the others.
		c := s.login(t, "bo@example.com", pw)
		if st, _, body := s.postJSON(t, "/auth/password", map[string]string{"currentPassword": pw, "newPassword": "an entirely new passphrase"}, bearer(a.Token)...); st/100 != 2 {
			t.Fatalf("password change: %d %s", st, body)
		}
		waitRefused(t, s, c.Token, "access token of a session ended by a password change")
		if st, _, body := s.get(t, "/auth/me", bearer(a.Token)...); st != http.StatusOK {
			t.Fatalf("the session that changed the password: %d %s", st, body)
		}

		// Sign out everywhere.
		if st, _, body := s.postJSON(t, "/auth/sessions/revoke-all", nil, bearer(a.Token)...); st/100 != 2 {
			t.Fatalf("revoke-all: %d %s", st, body)
		}
		waitRefused(t, s, a.Token, "access token after sign out everywhere")

		// An administrator locks the account.
		d := s.login(t, "bo@example.com", "an entirely new passphrase")
		if st, _, body := s.postJSON(t, "/admin/users/"+d.UserID+"/lock", nil, bearer(s.adminToken(t))...); st/100 != 2 {
			t.Fatalf("lock: %d %s", st, body)
		}
		waitRefused(t, s, d.Token, "access token of a locked account")
	})
}

// tokenPayload decodes a JWT's claims without verifying it.
func tokenPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	decode(t, b, &m)
	return m
}
