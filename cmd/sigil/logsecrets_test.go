package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Nothing secret reaches the logs: not passwords, access or refresh
// tokens, client secrets or the key-encryption key, even at debug level
// and through failures, while the access log does record every request.
func TestLogsHoldNoSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := adminEnv(dbURL, map[string]string{"SIGIL_LOG_LEVEL": "debug", "SIGIL_LOG_FORMAT": "json"})
		s := startServer(t, env)
		const password = "log-canary password 42"
		lr := s.signupLogin(t, "canary@example.com", password)
		s.postJSON(t, "/auth/login", map[string]string{"email": "canary@example.com", "password": password + "-wrong"})
		s.get(t, "/auth/me", bearer(lr.Token)...)
		s.get(t, "/auth/me?access_token="+url.QueryEscape(lr.Token), bearer(lr.Token+"x")...)
		st, _, body := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken})
		if st != http.StatusOK {
			t.Fatalf("refresh: %d %s", st, body)
		}
		var next loginResult
		decode(t, body, &next)
		s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": lr.RefreshToken}) // a retry with the spent token

		admin := s.adminToken(t)
		id, secret := s.createClient(t, admin, map[string]any{"name": "logs", "scopes": []string{"a"}, "audience": "api"})
		st, _, body = s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)...)
		if st != http.StatusOK {
			t.Fatalf("client_credentials: %d %s", st, body)
		}
		var cc struct {
			AccessToken string `json:"access_token"`
		}
		decode(t, body, &cc)
		s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, secret+"x")...)
		s.postForm(t, "/oauth2/introspect", url.Values{"token": {cc.AccessToken}}, basic(id, secret)...)
		s.postForm(t, "/oauth2/revoke", url.Values{"token": {next.RefreshToken}}, basic(id, secret)...)
		s.postJSON(t, "/auth/logout", map[string]string{"refreshToken": next.RefreshToken})
		s.stop()

		logs := s.stderr.String()
		if !strings.Contains(logs, `"route":"/auth/login"`) || !strings.Contains(logs, `"route":"/oauth2/token"`) {
			t.Fatalf("the access log does not record the requests:\n%.2000s", logs)
		}
		secrets := map[string]string{
			"password":             password,
			"access token":         lr.Token,
			"access token payload": strings.Split(lr.Token, ".")[1],
			"refresh token":        lr.RefreshToken,
			"rotated refresh":      next.RefreshToken,
			"client secret":        secret,
			"client access token":  cc.AccessToken,
			"admin password":       adminPassword,
		}
		if kek := env["SIGIL_KEY_ENCRYPTION_KEY"]; kek != "" {
			secrets["key-encryption key"] = kek[strings.Index(kek, ":")+1:]
		}
		for what, secret := range secrets {
			if strings.Contains(logs, secret) {
				t.Errorf("the logs contain the %s", what)
			}
		}
	})
}

// Successful answers of the polled public endpoints (JWKS, discovery,
// health, metrics) are logged at debug level only; requests that act on
// accounts and tokens are logged at info.
func TestAccessLogLevels(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_LOG_LEVEL": level, "SIGIL_LOG_FORMAT": "json"}))
			s.signupLogin(t, "levels@example.com", "password123")
			for _, p := range []string{"/.well-known/jwks.json", "/.well-known/openid-configuration", "/healthz", "/readyz", "/metrics"} {
				if st, _, _ := s.get(t, p); st != http.StatusOK {
					t.Fatalf("GET %s: %d", p, st)
				}
			}
			s.stop()
			logs := s.stderr.String()
			if !strings.Contains(logs, `"route":"/auth/login"`) {
				t.Fatalf("login not in the access log:\n%.2000s", logs)
			}
			quiet := strings.Contains(logs, `"route":"/.well-known/jwks.json"`) || strings.Contains(logs, `"route":"/healthz"`) || strings.Contains(logs, `"route":"/metrics"`)
			if level == "info" && quiet {
				t.Errorf("polled endpoints logged at info level:\n%.2000s", logs)
			}
			if level == "debug" && !quiet {
				t.Errorf("polled endpoints missing from the debug log:\n%.2000s", logs)
			}
		})
	}
}
