package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// The token-minting endpoints /auth/refresh and /oauth2/token (both
// grants) are limited per client address: past the bucket a client gets
// 429 with Retry-After (a problem on /auth/refresh, an RFC 6749
// temporarily_unavailable error on /oauth2/token) and the refresh token it
// presented is not spent; another client is served. With
// SIGIL_CLIENT_IP_HEADER set, the client is the last address of that
// header (the one the trusted proxy appended), so a forged first entry
// changes nothing. The limiter lives in memory, so one store suffices.
func TestRefreshAndTokenAreRateLimitedPerClient(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_RATE_LIMIT": "1/m", "SIGIL_CLIENT_IP_HEADER": "X-Forwarded-For"}))
	from := func(ip string) []string { return []string{"X-Forwarded-For", "198.51.100.1, " + ip} }
	// Setup requests come from their own addresses (each has a burst of 1).
	st, _, b := s.postJSON(t, "/auth/signup", map[string]string{"email": "ada@example.com", "password": "password123"}, from("192.0.2.1")...)
	if st != http.StatusCreated {
		t.Fatalf("signup: %d %s", st, b)
	}
	loginAs := func(email, password, ip string) loginResult {
		t.Helper()
		st, _, b := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": password}, from(ip)...)
		var lr loginResult
		if st != http.StatusOK {
			t.Fatalf("login: %d %s", st, b)
		}
		decode(t, b, &lr)
		return lr
	}
	login := func(ip string) loginResult { return loginAs("ada@example.com", "password123", ip) }
	admin := loginAs(adminEmail, adminPassword, "192.0.2.2").Token
	id, secret := s.createClient(t, admin, map[string]any{"name": "svc", "scopes": []string{"a"}, "audience": "api"})

	// /auth/refresh: the client's first refresh passes, the next is
	// refused before it reaches the handler, so the token stays live and
	// works from another address.
	rt := login("192.0.2.3").RefreshToken
	refresh := func(tok, ip string) (int, http.Header, []byte) {
		return s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": tok}, from(ip)...)
	}
	st, _, b = refresh(rt, "203.0.113.1")
	if st != http.StatusOK {
		t.Fatalf("first refresh: %d %s", st, b)
	}
	var lr loginResult
	decode(t, b, &lr)
	st, h, b := refresh(lr.RefreshToken, "203.0.113.1")
	wantThrottled(t, "/auth/refresh", st, h, b, 60)
	st, h, b = do(t, http.MethodPost, s.Base+"/auth/refresh", "application/json", `{"refreshToken":"`+lr.RefreshToken+`"}`,
		"X-Forwarded-For", "203.0.113.99, 203.0.113.1")
	wantThrottled(t, "/auth/refresh with a forged first address", st, h, b, 60)
	if st, _, b := refresh(lr.RefreshToken, "203.0.113.2"); st != http.StatusOK {
		t.Fatalf("the refused client's token from another client: %d %s (the refusal must not spend it)", st, b)
	}

	// /oauth2/token, client_credentials and refresh_token alike.
	cc := url.Values{"grant_type": {"client_credentials"}}
	st, h, b = s.postForm(t, "/oauth2/token", cc, append(basic(id, secret), from("203.0.113.3")...)...)
	tokenOK(t, "client_credentials", st, h, b)
	st, h, b = s.postForm(t, "/oauth2/token", cc, append(basic(id, secret), from("203.0.113.3")...)...)
	wantThrottled(t, "/oauth2/token", st, h, b, 60)
	rg := url.Values{"grant_type": {"refresh_token"}, "client_id": {"sigil"}, "refresh_token": {login("192.0.2.4").RefreshToken}}
	st, h, b = s.postForm(t, "/oauth2/token", rg, from("203.0.113.3")...)
	wantThrottled(t, "/oauth2/token (refresh_token)", st, h, b, 60)
	st, h, b = s.postForm(t, "/oauth2/token", rg, from("203.0.113.4")...)
	tokenOK(t, "refresh_token from another client", st, h, b)

	for _, e := range auditEvents(t, dbURL, authority.EventQuery{Type: "request.throttled"}) {
		if e.IP != "203.0.113.1" && e.IP != "203.0.113.3" {
			t.Errorf("request.throttled event for %q, want the proxy's last address", e.IP)
		}
	}
}

// Without SIGIL_CLIENT_IP_HEADER the client is the TCP peer: an
// X-Forwarded-For header (which anyone can send) neither earns a new
// bucket nor lands in the audit log.
func TestClientIPHeaderIgnoredUnlessConfigured(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_RATE_LIMIT": "1/m"}))
	refresh := func(ip string) (int, http.Header, []byte) {
		return do(t, http.MethodPost, s.Base+"/auth/refresh", "application/json", `{"refreshToken":"x"}`, "X-Forwarded-For", ip)
	}
	if st, _, b := refresh("203.0.113.1"); st != http.StatusUnauthorized {
		t.Fatalf("first request: %d %s, want 401 (unknown token)", st, b)
	}
	for _, ip := range []string{"203.0.113.2", "203.0.113.3"} {
		st, h, b := refresh(ip)
		wantThrottled(t, "/auth/refresh claiming "+ip, st, h, b, 60)
	}
	st, h, b := do(t, http.MethodPost, s.Base+"/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", "X-Forwarded-For", "203.0.113.4")
	wantThrottled(t, "/oauth2/token claiming another address", st, h, b, 60)
	ev := auditEvents(t, dbURL, authority.EventQuery{Type: "request.throttled"})
	if len(ev) != 1 || ev[0].IP != "127.0.0.1" {
		t.Fatalf("request.throttled events %+v, want one for the TCP peer 127.0.0.1", ev)
	}
}
