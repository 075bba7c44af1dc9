package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Every answer that carries a token or account data says Cache-Control:
// no-store.
func TestTokenAnswersAreNotCached(t *testing.T) {
	s := startServer(t, adminEnv(storetest.SQLiteURL(t), nil))
	st, h, _ := s.postJSON(t, "/auth/signup", map[string]string{"email": "c@example.com", "password": "password123"})
	check := func(what string, st int, h http.Header, want int) {
		t.Helper()
		if st != want || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d Cache-Control %q, want %d no-store", what, st, h.Get("Cache-Control"), want)
		}
	}
	check("signup", st, h, 201)
	st, h, _ = s.postJSON(t, "/auth/login", map[string]string{"email": "c@example.com", "password": "password123"})
	check("login", st, h, 200)
	lr := s.login(t, "c@example.com", "password123")
	st, h, _ = s.get(t, "/auth/me", bearer(lr.Token)...)
	check("me", st, h, 200)
	admin := s.login(t, adminEmail, adminPassword)
	st, h, _ = s.get(t, "/admin/audit", bearer(admin.Token)...)
	check("admin audit", st, h, 200)
	// Token-minting endpoints another branch serves: checked when present.
	for _, p := range []string{"/auth/refresh"} {
		st, h, _ := s.postJSON(t, p, map[string]string{"refreshToken": lr.RefreshToken})
		if st == 200 {
			check(p, st, h, 200)
		}
	}
}

// CORS on /auth/*: preflights from listed origins are answered with the
// origin echoed (never *), the allowed methods and headers, and Vary:
// Origin; other origins get no CORS headers; no credentials mode.
func TestCORSAllowList(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{
		"SIGIL_CORS_ORIGINS": "https://app.example.com, http://localhost:5173",
	}))
	preflight := func(path, origin string) (int, http.Header) {
		t.Helper()
		st, h, _ := do(t, http.MethodOptions, s.Base+path, "", "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, authorization")
		return st, h
	}
	for _, origin := range []string{"https://app.example.com", "http://localhost:5173"} {
		for _, path := range []string{"/auth/login", "/auth/signup", "/auth/me", "/auth/refresh"} {
			st, h := preflight(path, origin)
			if st != 204 || h.Get("Access-Control-Allow-Origin") != origin {
				t.Fatalf("preflight %s from %s: %d %v", path, origin, st, h)
			}
			if m := h.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "GET") {
				t.Errorf("allowed methods %q", m)
			}
			if ah := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(ah, "content-type") || !strings.Contains(ah, "authorization") {
				t.Errorf("allowed headers %q", ah)
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("preflight lacks Vary: Origin: %v", h.Values("Vary"))
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("credentials mode enabled")
			}
		}
	}
	for _, origin := range []string{"https://evil.example.com", "null", "https://app.example.com.evil.com", "http://app.example.com"} {
		st, h := preflight("/auth/login", origin)
		if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight from unlisted %s allowed: %d %v", origin, st, h)
		}
	}
	// Actual requests: the listed origin is echoed, others get nothing.
	st, h, _ := s.postJSON(t, "/auth/signup", map[string]string{"email": "cors@example.com", "password": "password123"}, "Origin", "https://app.example.com")
	if st != 201 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Fatalf("signup from allowed origin: %d %v", st, h)
	}
	if !strings.Contains(h.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("Retry-After not exposed: %q", h.Get("Access-Control-Expose-Headers"))
	}
	_, h, _ = s.postJSON(t, "/auth/login", map[string]string{"email": "cors@example.com", "password": "password123"}, "Origin", "https://evil.example.com")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin got %q", h.Get("Access-Control-Allow-Origin"))
	}
	// Only /auth/* is opened to browsers by the allow-list.
	_, h, _ = s.get(t, "/healthz", "Origin", "https://app.example.com")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("/healthz answered CORS")
	}
}

// With SIGIL_CORS_ORIGINS unset no origin is allowed.
func TestCORSOffByDefault(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	_, h, _ := do(t, http.MethodOptions, s.Base+"/auth/login", "", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS allowed with no allow-list: %v", h)
	}
}

// A wildcard or a non-URL origin stops start-up with one line.
func TestCORSWildcardRefused(t *testing.T) {
	_, _, err := runCLI(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_CORS_ORIGINS": "*"}), "", "serve")
	if err == nil || !strings.Contains(err.Error(), "SIGIL_CORS_ORIGINS") {
		t.Fatalf("wildcard origin: %v", err)
	}
}
