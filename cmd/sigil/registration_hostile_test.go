package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Hostile bodies and credentials at the registration endpoints get an
// RFC 7591 or RFC 6750 error (application/json {"error",
// "error_description"}, no-store), never a 500 nor problem+json, and
// write no client.
func TestHostileInputOnRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		for _, mode := range []string{"open", "token"} {
			s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_REGISTRATION": mode, "SIGIL_REGISTRATION_RATE_LIMIT": "0"}))
			before := countRows(t, dbURL, "clients")
			huge := strings.Repeat("A", 60<<10)
			uri := func(raw string) string { return `{"redirect_uris":[` + raw + `]}` }
			var auth []string
			if mode == "token" {
				auth = bearer("not-a-token")
			}
			cases := []struct {
				name, ctype, body string
				status            int
			}{
				{"empty body", "application/json", ``, 400},
				{"JSON null", "application/json", `null`, 400},
				{"a string", "application/json", `"redirect_uris"`, 400},
				{"two objects", "application/json", `{}{}`, 400},
				{"duplicate member differing in case", "application/json", `{"redirect_uris":["https://a.example/cb"],"REDIRECT_URIS":["https://b.example/cb"]}`, 400},
				{"deep nesting", "application/json", uri(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), 400},
				{"raw NUL byte", "application/json", "{\"client_name\":\"a\x00b\"," + uri(`"https://a.example/cb"`)[1:], 400},
				{"NUL escape in a redirect URI", "application/json", uri(`"https://a.example/c\u0000b"`), 400},
				{"lone surrogate in a redirect URI", "application/json", uri(`"https://a.example/\ud800"`), 400},
				{"huge redirect URI", "application/json", uri(`"https://a.example/` + huge + `"`), 400},
				{"huge client_name", "application/json", `{"client_name":"` + huge + `",` + uri(`"https://a.example/cb"`)[1:], 400},
				{"huge scope", "application/json", `{"scope":"` + huge + `",` + uri(`"https://a.example/cb"`)[1:], 400},
				{"SQL in a redirect URI", "application/json", uri(`"https://a.example/cb' OR 1=1 --"`), 400},
				{"redirect URI an object", "application/json", uri(`{"$ne":null}`), 400},
				{"redirect_uris an object", "application/json", `{"redirect_uris":{"0":"https://a.example/cb"}}`, 400},
				{"grant_types an object", "application/json", `{"grant_types":{"$ne":1},` + uri(`"https://a.example/cb"`)[1:], 400},
				{"token_endpoint_auth_method a bool", "application/json", `{"token_endpoint_auth_method":true,` + uri(`"https://a.example/cb"`)[1:], 400},
				{"body over 64 KiB", "application/json", uri(`"` + strings.Repeat("x", 65<<10) + `"`), 413},
				{"text/plain", "text/plain", uri(`"https://a.example/cb"`), 415},
				{"form", "application/x-www-form-urlencoded", "redirect_uris=https://a.example/cb", 415},
			}
			for _, c := range cases {
				st, h, body := do(t, http.MethodPost, s.Base+"/oauth2/register", c.ctype, c.body, auth...)
				want, code := c.status, ""
				if mode == "token" && c.status == 400 {
					// The metadata is judged first only as far as it
					// parses; a well-formed request with a bad token is 401.
					want = -1
				}
				if (want > 0 && st != want) || st < 400 || st >= 500 || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
					t.Errorf("%s %s: %d %s %s %.200s, want %d", mode, c.name, st, h.Get("Content-Type"), h.Get("Cache-Control"), body, want)
					continue
				}
				var e struct {
					Error            string `json:"error"`
					ErrorDescription string `json:"error_description"`
				}
				decode(t, body, &e)
				if e.Error == "" || e.ErrorDescription == "" || (code != "" && e.Error != code) {
					t.Errorf("%s %s: %s", mode, c.name, body)
				}
			}
			// Hostile credentials and ids at RFC 7592 (and, with token,
			// at registration).
			for _, c := range []struct{ name, id, token string }{
				{"huge token", "x", huge[:8000]},
				{"SQL token", "x", "' OR 1=1 --"},
				{"SQL id", url.PathEscape("' OR 1=1 --"), "x"},
				{"NUL id", "%00", "x"},
				{"huge id", strings.Repeat("i", 4000), "x"},
				{"JWT-shaped token", "x", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
			} {
				for _, m := range []string{http.MethodGet, http.MethodDelete} {
					st, h, body := do(t, m, s.Base+"/oauth2/register/"+c.id, "", "", bearer(c.token)...)
					if st != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_token"`) {
						t.Errorf("%s %s %s: %d %s %.200s", mode, m, c.name, st, h.Get("Content-Type"), body)
					}
				}
				if mode == "token" {
					st, h, body := s.postJSON(t, "/oauth2/register", mcpMetadata, bearer(c.token)...)
					wantInvalidToken(t, "register with "+c.name, st, h, body)
				}
			}
			if n := countRows(t, dbURL, "clients"); n != before {
				t.Errorf("%s: hostile input wrote %d clients", mode, n-before)
			}
			s.stop()
		}
	})
}
