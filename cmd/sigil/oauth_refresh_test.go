package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// /auth/refresh rotates; the user's current roles go into the new token;
// presenting a spent token revokes the family and is audited; /auth/logout
// revokes the family and answers 204 even for tokens it does not know.
func TestAuthRefreshRotationReuseAndLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_REFRESH_REUSE_GRACE": "0"}))
		db := openDB(t, dbURL)
		lr := s.signupLogin(t, "rot@example.com", "correct horse battery")

		st, h, body := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken})
		if st != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("refresh: %d %s", st, body)
		}
		var r1 loginResult
		decode(t, body, &r1)
		if r1.RefreshToken == "" || r1.RefreshToken == lr.RefreshToken || r1.Token == "" || r1.UserID != lr.UserID || r1.TokenType != "Bearer" || r1.ExpiresIn != 900 {
			t.Fatalf("refresh answer %s", body)
		}
		claims := verifyWithJWKS(t, s, r1.Token)
		if claims["email"] != "rot@example.com" || claims["sub"] != lr.UserID || claims["client_id"] != "sigil" {
			t.Fatalf("refreshed claims %v", claims)
		}
		if st, _, _ := s.get(t, "/auth/me", bearer(r1.Token)...); st != 200 {
			t.Fatalf("me with the refreshed token: %d", st)
		}

		// Reuse of the spent token: 401, the whole family revoked, audited.
		st, h, body = s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken})
		if st != 401 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("reuse: %d %s", st, body)
		}
		if st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": r1.RefreshToken}); st != 401 {
			t.Fatalf("newest token after reuse: %d", st)
		}
		if liveInFamily(t, db, r1.RefreshToken) != 0 || countEvents(t, db, "refresh.reuse") != 1 {
			t.Fatal("reuse did not revoke the family with an audit event")
		}

		// Logout.
		lr2 := s.login(t, "rot@example.com", "correct horse battery")
		st, _, body = s.postJSON(t, "/auth/logout", map[string]string{"refreshToken": lr2.RefreshToken})
		if st != 204 || len(body) != 0 {
			t.Fatalf("logout: %d %s", st, body)
		}
		if st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr2.RefreshToken}); st != 401 {
			t.Fatalf("refresh after logout: %d", st)
		}
		unknown := strings.Repeat("A", 43) // well formed, never issued
		if st, _, _ := s.postJSON(t, "/auth/logout", map[string]string{"refreshToken": unknown}); st != 204 {
			t.Fatalf("logout with an unknown token: %d", st)
		}
		if st, _, _ := s.postJSON(t, "/auth/logout", map[string]string{"refreshToken": "no such token"}); st != 422 {
			t.Fatalf("logout with a malformed token: %d, want 422", st)
		}
		if countEvents(t, db, "refresh.logout") != 1 {
			t.Fatal("no logout audit event")
		}

		// Bad input is a problem, never a 500.
		for _, c := range []struct {
			path, body string
			status     int
		}{
			{"/auth/refresh", `{}`, 422},
			{"/auth/refresh", `{"refreshToken":1}`, 422},
			{"/auth/refresh", `{"refreshToken":"x","extra":1}`, 422},
			{"/auth/refresh", `nope`, 400},
			{"/auth/logout", `{}`, 422},
			{"/auth/refresh", `{"refreshToken":"` + strings.Repeat("a", 600) + `"}`, 401},
		} {
			st, h, body := do(t, http.MethodPost, s.Base+c.path, "application/json", c.body)
			if st != c.status || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%s %s: %d %s, want %d", c.path, c.body, st, body, c.status)
			}
		}
	})
}

// Many clients refreshing with one token at once, over HTTP, never leave
// two live tokens in the family, with the reuse grace off and on.
func TestRefreshRaceOverHTTP(t *testing.T) {
	for _, grace := range []string{"0", "1m"} {
		t.Run("grace="+grace, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_REFRESH_REUSE_GRACE": grace}))
				db := openDB(t, dbURL)
				lr := s.signupLogin(t, "race@example.com", "correct horse battery")
				const n = 16
				var wg sync.WaitGroup
				var mu sync.Mutex
				codes := map[int]int{}
				start := make(chan struct{})
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken})
						mu.Lock()
						codes[st]++
						mu.Unlock()
					}()
				}
				close(start)
				wg.Wait()
				max := 1
				if grace != "0" {
					max = 2
				}
				if codes[200] < 1 || codes[200] > max || codes[200]+codes[401] != n {
					t.Fatalf("answers %v: want 1..%d successes and the rest 401", codes, max)
				}
				if l := liveInFamily(t, db, lr.RefreshToken); l > 1 {
					t.Fatalf("%d live tokens in one family", l)
				}
			})
		})
	}
}

// A retry of a just-spent token within the grace interval succeeds once
// and the successor it replaces stops working.
func TestRefreshRetryWithinGraceOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_REFRESH_REUSE_GRACE": "1h"}))
		lr := s.signupLogin(t, "retry@example.com", "correct horse battery")
		refresh := func(tok string) (int, loginResult) {
			st, _, body := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": tok})
			var r loginResult
			if st == 200 {
				decode(t, body, &r)
			}
			return st, r
		}
		st, lost := refresh(lr.RefreshToken) // the answer the client never saw
		if st != 200 {
			t.Fatal(st)
		}
		st, r2 := refresh(lr.RefreshToken)
		if st != 200 {
			t.Fatalf("retry within the grace: %d", st)
		}
		st, r3 := refresh(r2.RefreshToken)
		if st != 200 {
			t.Fatalf("the retry's token: %d", st)
		}
		// The replaced successor was never delivered: presenting it is
		// theft, and the family goes.
		if st, _ := refresh(lost.RefreshToken); st != 401 {
			t.Fatalf("the replaced successor: %d", st)
		}
		if st, _ := refresh(r3.RefreshToken); st != 401 {
			t.Fatalf("the family survived the replaced successor's use: %d", st)
		}
	})
}

// grant_type=refresh_token: the public login client refreshes login
// tokens with client_id alone (or none); a confidential client may not use
// a token issued to another client; reuse is invalid_grant.
func TestRefreshTokenGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_REFRESH_REUSE_GRACE": "0"}))
		id, secret := s.createClient(t, s.adminToken(t), map[string]any{"name": "C", "audience": "c"})
		lr := s.signupLogin(t, "grant@example.com", "correct horse battery")

		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}}, basic(id, secret)...)
		wantOAuthError(t, "another client's token", st, h, b, 400, "invalid_grant")

		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}, "client_id": {"sigil"}})
		a := tokenOK(t, "public refresh", st, h, b)
		if a.RefreshToken == "" || a.RefreshToken == lr.RefreshToken || a.ExpiresIn != 900 {
			t.Fatalf("refresh answer %s", b)
		}
		claims := verifyWithJWKS(t, s, a.AccessToken)
		if claims["sub"] != lr.UserID || claims["email"] != "grant@example.com" || claims["aud"] != "sigil" {
			t.Fatalf("claims %v", claims)
		}
		// No client identification at all is the public client too.
		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.RefreshToken}})
		a2 := tokenOK(t, "anonymous refresh", st, h, b)

		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a2.RefreshToken}, "scope": {"admin"}})
		wantOAuthError(t, "scope wider than the grant", st, h, b, 400, "invalid_scope")

		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {lr.RefreshToken}})
		wantOAuthError(t, "reuse", st, h, b, 400, "invalid_grant")
		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a2.RefreshToken}})
		wantOAuthError(t, "newest after reuse", st, h, b, 400, "invalid_grant")
		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}})
		wantOAuthError(t, "unknown", st, h, b, 400, "invalid_grant")
	})
}
