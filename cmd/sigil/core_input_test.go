package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

func countRows(t *testing.T, dbURL, table string) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.CountRows(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Every malformed request gets its status and a problem+json body, and
// writes no row.
func TestBadInputIsRefusedWithProblems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		s.signupLogin(t, "taken@example.com", "password123")
		users := countRows(t, dbURL, "users")
		refresh := countRows(t, dbURL, "refresh_tokens")

		long := strings.Repeat("a", 1025)
		cases := []struct {
			name, path, ctype, body string
			status                  int
			field                   string
		}{
			{"no content type", "/auth/signup", "", `{"email":"a@example.com","password":"password123"}`, 415, ""},
			{"form content type", "/auth/signup", "application/x-www-form-urlencoded", `email=a@example.com`, 415, ""},
			{"malformed JSON", "/auth/signup", "application/json", `{"email":`, 400, ""},
			{"not an object", "/auth/signup", "application/json", `["a"]`, 400, ""},
			{"trailing data", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123"} {}`, 400, ""},
			{"duplicate key", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","password":"x"}`, 400, ""},
			{"invalid UTF-8", "/auth/signup", "application/json", "{\"email\":\"a\xff@example.com\",\"password\":\"password123\"}", 400, ""},
			{"wrong type", "/auth/signup", "application/json", `{"email":42,"password":"password123"}`, 422, "email"},
			{"unknown field", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","admin":true}`, 422, "admin"},
			{"missing email", "/auth/signup", "application/json", `{"password":"password123"}`, 422, "email"},
			{"malformed email", "/auth/signup", "application/json", `{"email":"not-an-email","password":"password123"}`, 422, "email"},
			{"email with NUL", "/auth/signup", "application/json", `{"email":"a\u0000@example.com","password":"password123"}`, 422, "email"},
			{"short password", "/auth/signup", "application/json", `{"email":"a@example.com","password":"1234567"}`, 422, "password"},
			{"long password", "/auth/signup", "application/json", `{"email":"a@example.com","password":"` + long + `"}`, 422, "password"},
			{"long name", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","name":"` + strings.Repeat("n", 201) + `"}`, 422, "name"},
			{"email taken (case differs)", "/auth/signup", "application/json", `{"email":"TAKEN@example.com","password":"password123"}`, 409, ""},
			{"body over 64 KiB", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
			{"login missing password", "/auth/login", "application/json", `{"email":"taken@example.com"}`, 422, "password"},
			{"login malformed", "/auth/login", "application/json", `{`, 400, ""},
			{"login wrong content type", "/auth/login", "text/plain", `{}`, 415, ""},
		}
		for _, c := range cases {
			st, h, body := do(t, http.MethodPost, s.Base+c.path, c.ctype, c.body)
			var p struct {
				Type, Title, Detail, Field string
				Status                     int
			}
			if st != c.status || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: got %d %s %s, want %d problem+json", c.name, st, h.Get("Content-Type"), body, c.status)
				continue
			}
			decode(t, body, &p)
			if p.Status != c.status || p.Type == "" || p.Title == "" || p.Field != c.field {
				t.Errorf("%s: problem %+v, want status %d field %q", c.name, p, c.status, c.field)
			}
		}
		if n := countRows(t, dbURL, "users"); n != users {
			t.Errorf("bad input wrote users: %d → %d", users, n)
		}
		if n := countRows(t, dbURL, "refresh_tokens"); n != refresh {
			t.Errorf("bad input wrote refresh tokens: %d → %d", refresh, n)
		}
		if st, _, _ := do(t, http.MethodGet, s.Base+"/auth/login", "", ""); st != 405 {
			t.Errorf("GET /auth/login: %d, want 405", st)
		}
	})
}
