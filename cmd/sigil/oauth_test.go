package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// createClient registers a client through the admin API.
func (s *server) createClient(t *testing.T, admin string, body map[string]any) (id, secret string) {
	t.Helper()
	st, h, b := s.postJSON(t, "/admin/clients", body, bearer(admin)...)
	if st != http.StatusCreated || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("create client: %d %s", st, b)
	}
	var r struct{ ClientID, ClientSecret string }
	decode(t, b, &r)
	if r.ClientID == "" || len(r.ClientSecret) < 43 {
		t.Fatalf("create client answer %s", b)
	}
	return r.ClientID, r.ClientSecret
}

func (s *server) postForm(t *testing.T, path string, form url.Values, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return do(t, http.MethodPost, s.Base+path, "application/x-www-form-urlencoded", form.Encode(), hdr...)
}

// basic is client_secret_basic: id and secret form-urlencoded, then
// base64 (RFC 6749 §2.3.1).
func basic(id, secret string) []string {
	cred := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))}
}

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// wantOAuthError checks an RFC 6749 §5.2 error answer.
func wantOAuthError(t *testing.T, what string, st int, h http.Header, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e oauthErr
	if err := json.Unmarshal(body, &e); err != nil || st != wantStatus || e.Error != wantCode || e.Description == "" {
		t.Fatalf("%s: %d %s, want %d %s", what, st, body, wantStatus, wantCode)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q, want application/json", what, ct)
	}
}

type tokenAns struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

func tokenOK(t *testing.T, what string, st int, h http.Header, body []byte) tokenAns {
	t.Helper()
	if st != http.StatusOK {
		t.Fatalf("%s: %d %s", what, st, body)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Fatalf("%s: caching headers %v", what, h)
	}
	var a tokenAns
	decode(t, body, &a)
	if a.AccessToken == "" || a.TokenType != "Bearer" || a.ExpiresIn <= 0 {
		t.Fatalf("%s: answer %s", what, body)
	}
	return a
}

// liveInFamily counts the live tokens of the family of refresh token tok.
func liveInFamily(t *testing.T, db *store.DB, tok string) int {
	t.Helper()
	ctx := context.Background()
	rt, err := db.RefreshTokenByHash(ctx, authority.HashToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	fam, err := db.RefreshFamily(ctx, rt.FamilyID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range fam {
		if x.SpentAt.IsZero() && x.RevokedAt.IsZero() {
			n++
		}
	}
	return n
}

func countEvents(t *testing.T, db *store.DB, typ string) int {
	t.Helper()
	ev, err := db.ListEvents(context.Background(), store.AuditQuery{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

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

// Admin client management: authentication, validation, secrets shown
// once and never listed, delete 204 then 404.
func TestAdminClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		db := openDB(t, dbURL)
		admin := s.adminToken(t)
		user := s.signupLogin(t, "plain@example.com", "correct horse battery")

		body := map[string]any{"name": "Billing", "scopes": []string{"invoices:read", "invoices:write"}, "audience": "billing-api"}
		if st, h, _ := s.postJSON(t, "/admin/clients", body); st != 401 || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("no token: %d", st)
		}
		if st, _, _ := s.postJSON(t, "/admin/clients", body, bearer(user.Token)...); st != 403 {
			t.Fatalf("non-admin: %d", st)
		}
		id, secret := s.createClient(t, admin, body)
		if stored, err := db.ClientByID(context.Background(), id); err != nil || stored.SecretHash != authority.HashToken(secret) || strings.Contains(stored.SecretHash, secret) {
			t.Fatalf("stored client %+v, %v: want only the secret's SHA-256", stored, err)
		}
		id2, _ := s.createClient(t, admin, map[string]any{"name": "Reports", "scopes": "reports:read", "audience": "reports", "tokenTtl": "5m"})
		_, _ = s.createClient(t, admin, map[string]any{"name": "Seconds", "audience": "x", "tokenTtl": 60})

		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"scopes": []string{}, "audience": "a"}, "name"},
			{map[string]any{"name": "n", "scopes": []string{}, "audience": "a b"}, "audience"},
			{map[string]any{"name": "n", "audience": "a", "scopes": []string{"bad\"scope"}}, "scopes"},
			{map[string]any{"name": "n", "audience": "a", "scopes": 7}, "scopes"},
			{map[string]any{"name": "n", "audience": "a", "tokenTtl": "16m"}, "tokenTtl"},
			{map[string]any{"name": "n", "audience": "a", "tokenTtl": "soon"}, "tokenTtl"},
			{map[string]any{"name": "n", "audience": "a", "tokenTtl": 1.5}, "tokenTtl"},
			{map[string]any{"name": "n", "audience": "a", "secret": "mine"}, "secret"},
		} {
			st, _, b := s.postJSON(t, "/admin/clients", c.body, bearer(admin)...)
			var p struct{ Field string }
			decode(t, b, &p)
			if st != 422 || p.Field != c.field {
				t.Fatalf("%v: %d %s, want 422 on %s", c.body, st, b, c.field)
			}
		}

		st, h, b := s.get(t, "/admin/clients", bearer(admin)...)
		if st != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("list: %d %s", st, b)
		}
		if strings.Contains(string(b), secret) || strings.Contains(string(b), authority.HashToken(secret)) || strings.Contains(strings.ToLower(string(b)), "secret") {
			t.Fatalf("the list shows a secret: %s", b)
		}
		var list struct {
			Clients []struct {
				ClientID, Name, Audience string
				Scopes                   []string
				TokenTTL                 int `json:"tokenTtl"`
				CreatedAt                time.Time
			}
		}
		decode(t, b, &list)
		ttls := map[string]int{}
		for _, c := range list.Clients {
			ttls[c.Name] = c.TokenTTL
			if c.Name == "Billing" && (c.ClientID != id || len(c.Scopes) != 2 || c.Audience != "billing-api" || c.CreatedAt.IsZero()) {
				t.Fatalf("billing client listed as %+v", c)
			}
			if c.Name == "Reports" && (c.ClientID != id2 || len(c.Scopes) != 1 || c.Scopes[0] != "reports:read") {
				t.Fatalf("reports client listed as %+v", c)
			}
		}
		// The three created and the built-in console client.
		if len(list.Clients) != 4 || ttls["Sigil admin console"] != 900 || ttls["Billing"] != 900 || ttls["Reports"] != 300 || ttls["Seconds"] != 60 {
			t.Fatalf("list = %s", b)
		}
		if st, _, _ := s.get(t, "/admin/clients", bearer(user.Token)...); st != 403 {
			t.Fatalf("non-admin list: %d", st)
		}

		if st, _, _ := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id2, "", "", bearer(user.Token)...); st != 403 {
			t.Fatalf("non-admin delete: %d", st)
		}
		if st, _, b := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id2, "", "", bearer(admin)...); st != 204 || len(b) != 0 {
			t.Fatalf("delete: %d %s", st, b)
		}
		if st, h, _ := do(t, http.MethodDelete, s.Base+"/admin/clients/"+id2, "", "", bearer(admin)...); st != 404 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("second delete: %d", st)
		}
		if n, _ := db.CountRows(context.Background(), "clients"); n != 3 {
			t.Fatalf("%d clients stored, want 3 (two left and the built-in console)", n)
		}
		if countEvents(t, db, "client.created") != 3 || countEvents(t, db, "client.deleted") != 1 {
			t.Fatal("client changes not audited")
		}
		// The deleted client can no longer get tokens.
		st, h, b = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id2, "whatever")...)
		wantOAuthError(t, "deleted client", st, h, b, 401, "invalid_client")
	})
}

// client_credentials with both authentication methods, scopes, and every
// RFC 6749 §5.2 error of the token endpoint.
func TestClientCredentialsGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.adminToken(t)
		id, secret := s.createClient(t, admin, map[string]any{"name": "Billing", "scopes": []string{"read", "write"}, "audience": "billing-api", "tokenTtl": "10m"})
		form := func(kv ...string) url.Values {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}

		// client_secret_basic, all allowed scopes.
		st, h, b := s.postForm(t, "/oauth2/token", form("grant_type", "client_credentials"), basic(id, secret)...)
		a := tokenOK(t, "basic", st, h, b)
		if a.Scope != "read write" || a.ExpiresIn != 600 || a.RefreshToken != "" {
			t.Fatalf("basic: %s", b)
		}
		claims := verifyWithJWKS(t, s, a.AccessToken)
		if claims["sub"] != id || claims["client_id"] != id || claims["aud"] != "billing-api" || claims["scope"] != "read write" || claims["iss"] != s.Issuer {
			t.Fatalf("claims %v", claims)
		}
		if _, ok := claims["email"]; ok {
			t.Fatalf("a client token carries email: %v", claims)
		}
		if _, ok := claims["roles"]; ok {
			t.Fatalf("a client token carries roles: %v", claims)
		}
		if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 600 {
			t.Fatalf("exp-iat = %v, want the client's 600", exp-iat)
		}

		// Basic with every character of id and secret percent-encoded
		// still authenticates: the credentials are form-urlencoded.
		enc := func(s string) string {
			var sb strings.Builder
			for i := 0; i < len(s); i++ {
				sb.WriteString("%" + strings.ToUpper(hex2(s[i])))
			}
			return sb.String()
		}
		raw := base64.StdEncoding.EncodeToString([]byte(enc(id) + ":" + enc(secret)))
		st, h, b = s.postForm(t, "/oauth2/token", form("grant_type", "client_credentials"), "Authorization", "Basic "+raw)
		tokenOK(t, "basic percent-encoded", st, h, b)

		// client_secret_post, a subset of the scopes.
		st, h, b = s.postForm(t, "/oauth2/token", form("grant_type", "client_credentials", "client_id", id, "client_secret", secret, "scope", "write"))
		if a := tokenOK(t, "post", st, h, b); a.Scope != "write" {
			t.Fatalf("post scope: %s", b)
		}

		cases := []struct {
			what   string
			form   url.Values
			hdr    []string
			status int
			code   string
		}{
			{"both methods", form("grant_type", "client_credentials", "client_secret", secret), basic(id, secret), 400, "invalid_request"},
			{"wrong secret, basic", form("grant_type", "client_credentials"), basic(id, "wrong"), 401, "invalid_client"},
			{"unknown client, basic", form("grant_type", "client_credentials"), basic("nobody", secret), 401, "invalid_client"},
			{"wrong secret, post", form("grant_type", "client_credentials", "client_id", id, "client_secret", "wrong"), nil, 401, "invalid_client"},
			{"secret without id", form("grant_type", "client_credentials", "client_secret", secret), nil, 400, "invalid_request"},
			{"confidential id without secret", form("grant_type", "client_credentials", "client_id", id), nil, 401, "invalid_client"},
			{"bearer instead of basic", form("grant_type", "client_credentials"), bearer("x"), 401, "invalid_client"},
			{"malformed basic", form("grant_type", "client_credentials"), []string{"Authorization", "Basic !!!"}, 401, "invalid_client"},
			{"basic with another client_id", form("grant_type", "client_credentials", "client_id", "other"), basic(id, secret), 400, "invalid_request"},
			{"scope not allowed", form("grant_type", "client_credentials", "scope", "read admin"), basic(id, secret), 400, "invalid_scope"},
			{"malformed scope", form("grant_type", "client_credentials", "scope", "re\"ad"), basic(id, secret), 400, "invalid_scope"},
			{"no grant_type", form(), basic(id, secret), 400, "invalid_request"},
			{"password grant", form("grant_type", "password", "username", "a", "password", "b"), basic(id, secret), 400, "unsupported_grant_type"},
			{"public client", form("grant_type", "client_credentials", "client_id", "sigil"), nil, 400, "unauthorized_client"},
			{"no client at all", form("grant_type", "client_credentials"), nil, 401, "invalid_client"},
			{"refresh without token", form("grant_type", "refresh_token"), basic(id, secret), 400, "invalid_request"},
		}
		for _, c := range cases {
			st, h, b := s.postForm(t, "/oauth2/token", c.form, c.hdr...)
			wantOAuthError(t, c.what, st, h, b, c.status, c.code)
			basicUsed := len(c.hdr) > 0 && strings.HasPrefix(c.hdr[1], "Basic")
			if st == 401 && basicUsed && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic realm=") {
				t.Fatalf("%s: WWW-Authenticate %q", c.what, h.Get("WWW-Authenticate"))
			}
			if st == 401 && len(c.hdr) == 0 && h.Get("WWW-Authenticate") != "" {
				t.Fatalf("%s: WWW-Authenticate without Basic", c.what)
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: error answers must not be cached either", c.what)
			}
		}

		// Malformed requests.
		st, h, b = do(t, http.MethodPost, s.Base+"/oauth2/token", "application/json", `{"grant_type":"client_credentials"}`, basic(id, secret)...)
		wantOAuthError(t, "JSON body", st, h, b, 400, "invalid_request")
		st, h, b = do(t, http.MethodPost, s.Base+"/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&grant_type=client_credentials", basic(id, secret)...)
		wantOAuthError(t, "repeated parameter", st, h, b, 400, "invalid_request")
		st, h, b = do(t, http.MethodPost, s.Base+"/oauth2/token", "application/x-www-form-urlencoded", "grant_type=%zz", basic(id, secret)...)
		wantOAuthError(t, "bad encoding", st, h, b, 400, "invalid_request")
		st, h, b = do(t, http.MethodPost, s.Base+"/oauth2/token", "application/x-www-form-urlencoded", "scope="+strings.Repeat("a", 70<<10), basic(id, secret)...)
		wantOAuthError(t, "oversized body", st, h, b, 413, "invalid_request")
		st, h, b = do(t, http.MethodGet, s.Base+"/oauth2/token?grant_type=client_credentials", "", "", basic(id, secret)...)
		wantOAuthError(t, "GET", st, h, b, 405, "invalid_request")
		if h.Get("Allow") != "POST" {
			t.Fatalf("405 without Allow: POST")
		}
	})
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// A standard OAuth 2.0 client library obtains a token from Sigil with
// either authentication style, and the token verifies from the JWKS.
func TestClientCredentialsWithOAuth2Library(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		id, secret := s.createClient(t, s.adminToken(t), map[string]any{"name": "Library", "scopes": []string{"a", "b"}, "audience": "lib-api"})
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.Base + "/oauth2/token", Scopes: []string{"b"}, AuthStyle: style}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatalf("style %d: %v", style, err)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.Before(time.Now().Add(10*time.Minute)) {
				t.Fatalf("token %+v", tok)
			}
			claims := verifyWithJWKS(t, s, tok.AccessToken)
			if claims["sub"] != id || claims["aud"] != "lib-api" || claims["scope"] != "b" {
				t.Fatalf("claims %v", claims)
			}
			bad := clientcredentials.Config{ClientID: id, ClientSecret: "wrong", TokenURL: s.Base + "/oauth2/token", AuthStyle: style}
			_, err = bad.Token(context.Background())
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
				t.Fatalf("wrong secret through the library: %v", err)
			}
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
