package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

func (s *server) introspect(t *testing.T, id, secret, token string) map[string]any {
	t.Helper()
	st, h, b := s.postForm(t, "/oauth2/introspect", url.Values{"token": {token}}, basic(id, secret)...)
	if st != 200 || h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("introspect: %d %v %s", st, h, b)
	}
	var m map[string]any
	decode(t, b, &m)
	return m
}

func wantInactive(t *testing.T, what string, m map[string]any) {
	t.Helper()
	if len(m) != 1 || m["active"] != false {
		t.Fatalf("%s: introspection %v, want exactly {\"active\":false}", what, m)
	}
}

// Revoking an access token: /auth/me and introspection reject it, on this
// instance at once and on another instance within the deny list's reload
// interval; other tokens still pass. Unknown tokens answer 200.
func TestRevokedAccessTokenIsRejected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := adminEnv(dbURL, nil)
		s := startServer(t, env)
		other := startServer(t, env) // a second instance on the same database
		// The resource server of the login tokens' audience: introspection
		// answers it about them.
		rsID, rsSecret := s.createClient(t, s.adminToken(t), map[string]any{"name": "Resource server", "audience": "sigil", "firstParty": true})
		ada := s.signupLogin(t, "ada@example.com", "correct horse battery")
		bob := s.signupLogin(t, "bob@example.com", "correct horse battery")
		for _, srv := range []*server{s, other} {
			if st, _, _ := srv.get(t, "/auth/me", bearer(ada.Token)...); st != 200 {
				t.Fatalf("me before revocation: %d", st)
			}
		}

		// The login client revokes its own access token (client_id alone).
		st, h, b := s.postForm(t, "/oauth2/revoke", url.Values{"token": {ada.Token}, "token_type_hint": {"access_token"}, "client_id": {"sigil"}})
		if st != 200 || len(b) != 0 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("revoke: %d %s", st, b)
		}
		if st, _, _ := s.get(t, "/auth/me", bearer(ada.Token)...); st != 401 {
			t.Fatalf("me with a revoked token on the revoking instance: %d", st)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, _, _ := other.get(t, "/auth/me", bearer(ada.Token)...)
			if st == 401 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other instance still accepts the revoked token: %d", st)
			}
			time.Sleep(100 * time.Millisecond)
		}
		wantInactive(t, "revoked access token", s.introspect(t, rsID, rsSecret, ada.Token))
		for _, srv := range []*server{s, other} {
			if st, _, _ := srv.get(t, "/auth/me", bearer(bob.Token)...); st != 200 {
				t.Fatalf("another user's token after the revocation: %d", st)
			}
		}
		if m := s.introspect(t, rsID, rsSecret, bob.Token); m["active"] != true {
			t.Fatalf("another token: %v", m)
		}
		// Ada's refresh token is untouched by revoking her access token.
		if st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": ada.RefreshToken}); st != 200 {
			t.Fatalf("refresh after revoking only the access token: %d", st)
		}

		// Unknown and malformed tokens: 200 as RFC 7009 says.
		for _, tok := range []string{"unknown", "a.b.c", strings.Repeat("x", 2000)} {
			if st, _, b := s.postForm(t, "/oauth2/revoke", url.Values{"token": {tok}}); st != 200 {
				t.Fatalf("revoke %q: %d %s", tok[:min(len(tok), 10)], st, b)
			}
		}
		st, h, b = s.postForm(t, "/oauth2/revoke", url.Values{})
		wantOAuthError(t, "revoke without token", st, h, b, 400, "invalid_request")
		st, h, b = s.postForm(t, "/oauth2/revoke", url.Values{"token": {"x"}}, basic(rsID, "wrong")...)
		wantOAuthError(t, "revoke with a wrong secret", st, h, b, 401, "invalid_client")
	})
}

// A client revokes its own client_credentials token, but not another
// client's; revoking a refresh token revokes its family.
func TestRevokeIsScopedToTheClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.adminToken(t)
		aID, aSecret := s.createClient(t, admin, map[string]any{"name": "A", "audience": "a"})
		bID, bSecret := s.createClient(t, admin, map[string]any{"name": "B", "audience": "b"})
		token := func(id, secret string) string {
			st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)...)
			return tokenOK(t, "token", st, h, b).AccessToken
		}
		aTok, bTok := token(aID, aSecret), token(bID, bSecret)

		// B cannot revoke A's token: 200, and it stays active.
		if st, _, _ := s.postForm(t, "/oauth2/revoke", url.Values{"token": {aTok}}, basic(bID, bSecret)...); st != 200 {
			t.Fatal(st)
		}
		if m := s.introspect(t, aID, aSecret, aTok); m["active"] != true {
			t.Fatalf("another client revoked A's token: %v", m)
		}
		// A revokes its own, with client_secret_post.
		if st, _, _ := s.postForm(t, "/oauth2/revoke", url.Values{"token": {aTok}, "client_id": {aID}, "client_secret": {aSecret}}); st != 200 {
			t.Fatal(st)
		}
		wantInactive(t, "revoked client token", s.introspect(t, aID, aSecret, aTok))
		if m := s.introspect(t, bID, bSecret, bTok); m["active"] != true {
			t.Fatalf("B's token: %v", m)
		}
		// A confidential client cannot revoke a login refresh token.
		rsID, rsSecret := s.createClient(t, admin, map[string]any{"name": "RS", "audience": "sigil", "firstParty": true})
		lr := s.signupLogin(t, "fam@example.com", "correct horse battery")
		s.postForm(t, "/oauth2/revoke", url.Values{"token": {lr.RefreshToken}}, basic(aID, aSecret)...)
		if m := s.introspect(t, rsID, rsSecret, lr.RefreshToken); m["active"] != true {
			t.Fatalf("a confidential client revoked a login refresh token: %v", m)
		}
		// The login client revokes it (and its family).
		st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken})
		if st != 200 {
			t.Fatal(st)
		}
		var r loginResult
		_, _, b := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken}) // reuse inside grace: a retry
		decode(t, b, &r)
		if r.RefreshToken == "" {
			t.Fatalf("retry: %s", b)
		}
		if st, _, _ := s.postForm(t, "/oauth2/revoke", url.Values{"token": {r.RefreshToken}, "token_type_hint": {"refresh_token"}}); st != 200 {
			t.Fatal(st)
		}
		if st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": r.RefreshToken}); st != 401 {
			t.Fatalf("refresh after revocation: %d", st)
		}
		wantInactive(t, "revoked refresh token", s.introspect(t, rsID, rsSecret, r.RefreshToken))
	})
}

// Introspection: client-authenticated; the claims of a valid access or
// refresh token; exactly {"active":false} for anything else.
func TestIntrospection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		id, secret := s.createClient(t, s.adminToken(t), map[string]any{"name": "RS", "scopes": []string{"x", "y"}, "audience": "sigil", "firstParty": true})
		lr := s.signupLogin(t, "intro@example.com", "correct horse battery")

		m := s.introspect(t, id, secret, lr.Token)
		for _, k := range []string{"scope", "client_id", "sub", "exp", "iat", "nbf", "aud", "iss", "jti", "token_type"} {
			if _, ok := m[k]; !ok && k != "scope" {
				t.Fatalf("introspection lacks %s: %v", k, m)
			}
		}
		if m["active"] != true || m["sub"] != lr.UserID || m["client_id"] != "sigil" || m["token_type"] != "Bearer" || m["iss"] != s.Issuer || m["aud"] != "sigil" || m["username"] != "intro@example.com" {
			t.Fatalf("access token introspection %v", m)
		}
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"y"}}, basic(id, secret)...)
		ct := tokenOK(t, "cc", st, h, b)
		m = s.introspect(t, id, secret, ct.AccessToken)
		if m["active"] != true || m["sub"] != id || m["client_id"] != id || m["scope"] != "y" || m["aud"] != "sigil" {
			t.Fatalf("client token introspection %v", m)
		}
		if _, ok := m["username"]; ok {
			t.Fatalf("a client token has a username: %v", m)
		}

		m = s.introspect(t, id, secret, lr.RefreshToken)
		if m["active"] != true || m["token_type"] != "refresh_token" || m["sub"] != lr.UserID || m["client_id"] != "sigil" || m["exp"] == nil || m["iat"] == nil || m["iss"] != s.Issuer {
			t.Fatalf("refresh token introspection %v", m)
		}
		if st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken}); st != 200 {
			t.Fatal(st)
		}
		wantInactive(t, "spent refresh token", s.introspect(t, id, secret, lr.RefreshToken))
		for _, tok := range []string{"garbage", "a.b.c", lr.Token + "x"} {
			wantInactive(t, "garbage", s.introspect(t, id, secret, tok))
		}

		st, h, b = s.postForm(t, "/oauth2/introspect", url.Values{"token": {lr.Token}})
		wantOAuthError(t, "no client", st, h, b, 401, "invalid_client")
		st, h, b = s.postForm(t, "/oauth2/introspect", url.Values{"token": {lr.Token}, "client_id": {"sigil"}})
		wantOAuthError(t, "public client", st, h, b, 401, "invalid_client")
		st, h, b = s.postForm(t, "/oauth2/introspect", url.Values{"token": {lr.Token}}, basic(id, "wrong")...)
		wantOAuthError(t, "wrong secret", st, h, b, 401, "invalid_client")
		if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
		}
		st, h, b = s.postForm(t, "/oauth2/introspect", url.Values{}, basic(id, secret)...)
		wantOAuthError(t, "no token", st, h, b, 400, "invalid_request")
		st, h, b = do(t, http.MethodPut, s.Base+"/oauth2/introspect", "application/x-www-form-urlencoded", "token=x", basic(id, secret)...)
		wantOAuthError(t, "PUT", st, h, b, 405, "invalid_request")
	})
}

// Discovery names the OAuth 2.0 endpoints, grants and auth methods that
// exist.
func TestDiscoveryListsOAuthEndpoints(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	_, _, b := s.get(t, "/.well-known/openid-configuration")
	var d struct {
		TokenEndpoint         string   `json:"token_endpoint"`
		RevocationEndpoint    string   `json:"revocation_endpoint"`
		IntrospectionEndpoint string   `json:"introspection_endpoint"`
		Grants                []string `json:"grant_types_supported"`
		TokenAuth             []string `json:"token_endpoint_auth_methods_supported"`
		IntrospectionAuth     []string `json:"introspection_endpoint_auth_methods_supported"`
	}
	decode(t, b, &d)
	if d.TokenEndpoint != s.Issuer+"/oauth2/token" || d.RevocationEndpoint != s.Issuer+"/oauth2/revoke" || d.IntrospectionEndpoint != s.Issuer+"/oauth2/introspect" {
		t.Fatalf("discovery %s", b)
	}
	if strings.Join(d.Grants, " ") != "authorization_code client_credentials refresh_token urn:ietf:params:oauth:grant-type:device_code" ||
		strings.Join(d.TokenAuth, " ") != "client_secret_basic client_secret_post none" ||
		strings.Join(d.IntrospectionAuth, " ") != "client_secret_basic client_secret_post" {
		t.Fatalf("discovery %s", b)
	}
	// Each endpoint exists and answers in RFC 6749 form.
	for _, p := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/oauth2/device_authorization"} {
		st, h, b := do(t, http.MethodPost, s.Base+p, "text/plain", "x")
		wantOAuthError(t, p, st, h, b, 400, "invalid_request")
	}
}

// Introspection answers a client only about tokens meant for it (their
// audience is the client's) or issued to it (their client_id is the
// client's); another service's valid token is {"active":false}, exactly
// like an unknown one. The endpoint is rate-limited per client address.
func TestIntrospectionAnswersOnlyAboutTheCallersTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_RATE_LIMIT": "5/s"}))
		admin := s.adminToken(t)
		aID, aSecret := s.createClient(t, admin, map[string]any{"name": "A", "audience": "orders"})
		bID, bSecret := s.createClient(t, admin, map[string]any{"name": "B", "audience": "billing"})
		rsID, rsSecret := s.createClient(t, admin, map[string]any{"name": "Login RS", "audience": "sigil", "firstParty": true})
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(aID, aSecret)...)
		aTok := tokenOK(t, "A's token", st, h, b).AccessToken
		lr := s.signupLogin(t, "scoped@example.com", "correct horse battery")

		if m := s.introspect(t, aID, aSecret, aTok); m["active"] != true {
			t.Fatalf("A about its own token: %v", m)
		}
		wantInactive(t, "B about A's token", s.introspect(t, bID, bSecret, aTok))
		wantInactive(t, "A about a login access token", s.introspect(t, aID, aSecret, lr.Token))
		wantInactive(t, "A about a login refresh token", s.introspect(t, aID, aSecret, lr.RefreshToken))
		if m := s.introspect(t, rsID, rsSecret, lr.Token); m["active"] != true || m["aud"] != "sigil" {
			t.Fatalf("the login tokens' resource server about one: %v", m)
		}
		if m := s.introspect(t, rsID, rsSecret, lr.RefreshToken); m["active"] != true {
			t.Fatalf("the login tokens' resource server about a refresh token: %v", m)
		}

		// A burst beyond the client's rate is refused in RFC 6749 form.
		limited := false
		for i := 0; i < 40 && !limited; i++ {
			st, h, b := s.postForm(t, "/oauth2/introspect", url.Values{"token": {aTok}}, basic(bID, bSecret)...)
			if st == http.StatusTooManyRequests {
				wantOAuthError(t, "introspection over the rate", st, h, b, 429, "temporarily_unavailable")
				if h.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				limited = true
			}
		}
		if !limited {
			t.Fatal("40 introspections at once were all answered: the endpoint is not rate-limited")
		}
	})
}
