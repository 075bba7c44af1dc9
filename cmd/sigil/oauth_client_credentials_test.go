package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sigil-auth/sigil/store/storetest"
)

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
