package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// jsonEndpoint is a JSON endpoint and a well-formed body for it.
type jsonEndpoint struct {
	path  string
	valid string // a well-shaped body (its values need not succeed)
	field string // a string field to put bad values in
}

// jsonEndpoints are every JSON-body endpoint of the API. Endpoints this
// build does not serve (404) are skipped, so the table covers them as soon
// as they exist.
var jsonEndpoints = []jsonEndpoint{
	{"/auth/signup", `{"email":"h@example.com","password":"password123","name":"H"}`, "email"},
	{"/auth/login", `{"email":"h@example.com","password":"password123"}`, "email"},
	{"/auth/refresh", `{"refreshToken":"x"}`, "refreshToken"},
	{"/auth/logout", `{"refreshToken":"x"}`, "refreshToken"},
}

// Hostile bodies on every JSON endpoint get a clear 4xx problem+json
// (naming the field for 422) and write no row. Unknown fields are
// rejected, not ignored: a misspelt or smuggled field ("admin": true)
// must not pass silently.
func TestHostileInputOnEveryJSONEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		s.signupLogin(t, "taken@example.com", "password123")
		var served []jsonEndpoint
		for _, ep := range jsonEndpoints {
			if st, _, _ := do(t, http.MethodPost, s.Base+ep.path, "application/json", ep.valid); st == 404 || st == 405 {
				t.Logf("%s not served by this build: skipped", ep.path)
				continue
			}
			served = append(served, ep)
		}
		tables := []string{"users", "refresh_tokens", "login_throttle"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = countRows(t, dbURL, tb)
		}

		huge := strings.Repeat("A", 60<<10) // under the 64 KiB body limit
		for _, ep := range served {
			withField := func(raw string) string { return `{"` + ep.field + `":` + raw + `}` }
			cases := []struct {
				name, ctype, body string
				status            int
				field             string
			}{
				{"empty body", "application/json", ``, 400, ""},
				{"malformed JSON", "application/json", `{"` + ep.field + `":`, 400, ""},
				{"JSON null", "application/json", `null`, 400, ""},
				{"array", "application/json", `[` + ep.valid + `]`, 400, ""},
				{"string", "application/json", `"` + ep.field + `"`, 400, ""},
				{"two objects", "application/json", ep.valid + ep.valid, 400, ""},
				{"duplicate key", "application/json", `{"` + ep.field + `":"a","` + ep.field + `":"b"}`, 400, ""},
				{"duplicate key differing in case", "application/json", `{"` + ep.field + `":"a","` + strings.ToUpper(ep.field) + `":"b"}`, 400, ""},
				{"field name in another case", "application/json", `{"` + strings.ToUpper(ep.field) + `":"a"}`, 422, strings.ToUpper(ep.field)},
				{"unknown field", "application/json", strings.TrimSuffix(ep.valid, "}") + `,"admin":true}`, 422, "admin"},
				{"wrong type: number", "application/json", withField(`42`), 422, ep.field},
				{"wrong type: object", "application/json", withField(`{"$ne":null}`), 422, ep.field},
				{"wrong type: array", "application/json", withField(`["a"]`), 422, ep.field},
				{"wrong type: bool", "application/json", withField(`true`), 422, ep.field},
				{"invalid UTF-8", "application/json", "{\"" + ep.field + "\":\"\xc3\x28\"}", 400, ""},
				{"raw NUL byte", "application/json", "{\"" + ep.field + "\":\"a\x00b\"}", 400, ""},
				{"lone surrogate escape", "application/json", withField(`"\ud800@example.com"`), -1, ""},
				{"body over 64 KiB", "application/json", withField(`"` + strings.Repeat("x", 65<<10) + `"`), 413, ""},
				{"deep nesting", "application/json", withField(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), 400, ""},
				{"huge string", "application/json", withField(`"` + huge + `"`), -1, ""},
				{"text/plain", "text/plain", ep.valid, 415, ""},
				{"form", "application/x-www-form-urlencoded", ep.field + "=x", 415, ""},
			}
			for _, c := range cases {
				st, h, body := do(t, http.MethodPost, s.Base+ep.path, c.ctype, c.body)
				ok := st >= 400 && st < 500 && (c.status < 0 || st == c.status)
				if !ok || h.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s %s: %d %s %.200s; want %d problem+json", ep.path, c.name, st, h.Get("Content-Type"), body, c.status)
					continue
				}
				var p problem
				decode(t, body, &p)
				if p.Status != st || p.Type == "" || p.Title == "" || (c.field != "" && p.Field != c.field) {
					t.Errorf("%s %s: problem %+v, want field %q", ep.path, c.name, p, c.field)
				}
			}
		}

		// Field values the decoder lets through but the domain refuses.
		long := strings.Repeat("p", 1025)
		domain := []struct {
			name, path, body string
			status           int
			field            string
		}{
			{"field name with long s (folds to password)", "/auth/signup", `{"email":"ls@example.com","paſſword":"password123"}`, 422, "paſſword"},
			{"duplicate by Unicode folding", "/auth/login", `{"email":"taken@example.com","password":"x","paſſword":"password123"}`, 400, ""},
			{"email with NUL escape", "/auth/signup", `{"email":"a\u0000@example.com","password":"password123"}`, 422, "email"},
			{"email with zero-width space", "/auth/signup", `{"email":"a@exa\u200bmple.com","password":"password123"}`, 422, "email"},
			{"email with bidi override", "/auth/signup", `{"email":"\u202eadmin@example.com","password":"password123"}`, 422, "email"},
			{"SQL in email", "/auth/signup", `{"email":"x@x.io' OR '1'='1","password":"password123"}`, 422, "email"},
			{"SQL comment email", "/auth/signup", `{"email":"robert'); DROP TABLE users;--@example.com","password":"password123"}`, 422, "email"},
			{"email with display name", "/auth/signup", `{"email":"Eve <eve@example.com>","password":"password123"}`, 422, "email"},
			{"email too long", "/auth/signup", `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"password123"}`, 422, "email"},
			{"huge email", "/auth/signup", `{"email":"` + huge + `@example.com","password":"password123"}`, 422, "email"},
			{"name with NUL", "/auth/signup", `{"email":"n@example.com","password":"password123","name":"a\u0000b"}`, 422, "name"},
			{"name with escape sequence", "/auth/signup", `{"email":"n@example.com","password":"password123","name":"\u001b[31mred"}`, 422, "name"},
			{"huge name", "/auth/signup", `{"email":"n@example.com","password":"password123","name":"` + huge + `"}`, 422, "name"},
			{"password of 7 bytes", "/auth/signup", `{"email":"p@example.com","password":"1234567"}`, 422, "password"},
			{"password of 7 bytes, 4 characters", "/auth/signup", `{"email":"p@example.com","password":"ééé1"}`, 422, "password"},
			{"password of 1025 bytes", "/auth/signup", `{"email":"p@example.com","password":"` + long + `"}`, 422, "password"},
			{"huge password", "/auth/signup", `{"email":"p@example.com","password":"` + huge + `"}`, 422, "password"},
			{"empty password", "/auth/signup", `{"email":"p@example.com","password":""}`, 422, "password"},
			{"email taken, other case", "/auth/signup", `{"email":"TAKEN@Example.COM","password":"password123"}`, 409, ""},
			{"login: huge password", "/auth/login", `{"email":"taken@example.com","password":"` + huge + `"}`, 401, ""},
			{"login: SQL in email", "/auth/login", `{"email":"' OR 1=1 --","password":"password123"}`, 401, ""},
			{"login: missing email", "/auth/login", `{"password":"password123"}`, 422, "email"},
			{"login: empty password", "/auth/login", `{"email":"taken@example.com","password":""}`, 422, "password"},
		}
		for _, c := range domain {
			st, h, body := do(t, http.MethodPost, s.Base+c.path, "application/json", c.body)
			if st != c.status || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %.200s; want %d problem+json", c.name, st, body, c.status)
				continue
			}
			var p problem
			decode(t, body, &p)
			if p.Field != c.field {
				t.Errorf("%s: field %q, want %q", c.name, p.Field, c.field)
			}
		}
		for _, tb := range tables {
			if n := countRows(t, dbURL, tb); n != before[tb] {
				t.Errorf("hostile input wrote %s rows: %d → %d", tb, before[tb], n)
			}
		}
	})
}

// Values that look dangerous but are valid are stored verbatim and come
// back unchanged; emails match whatever their case; passwords at the
// limits work.
func TestValidButHostileLookingValuesRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		cases := []struct {
			name, email, loginEmail, password, display string
		}{
			{"SQL in the name", "bobby@example.com", "bobby@example.com", "password123", "Robert'); DROP TABLE users;--"},
			{"quote in the email", "o'brien@example.com", "O'Brien@Example.com", "password123", `Tom "T" O'Brien`},
			{"Unicode, mixed case", "Ädä@Exämple.COM", "ädä@exämple.com", "pässwörd", "Ådá Łøvelace 🧮"},
			{"password of exactly 8 bytes", "eight@example.com", "EIGHT@example.com", "12345678", "<script>alert(1)</script>"},
			{"password of exactly 1024 bytes", "kilo@example.com", "kilo@example.com", strings.Repeat("k", 1024), "%s %n {{.}} ${jndi:ldap://x}"},
			{"8-byte multibyte password", "multi@example.com", "multi@example.com", "éééé", "名前"},
		}
		for _, c := range cases {
			st, _, body := s.postJSON(t, "/auth/signup", map[string]string{"email": c.email, "password": c.password, "name": c.display})
			if st != 201 {
				t.Errorf("%s: signup %d %s", c.name, st, body)
				continue
			}
			lr := s.login(t, c.loginEmail, c.password)
			st, _, body = s.get(t, "/auth/me", bearer(lr.Token)...)
			var me struct{ Email, Name string }
			decode(t, body, &me)
			if st != 200 || me.Name != c.display || me.Email != strings.ToLower(c.email) {
				t.Errorf("%s: /auth/me %d %+v, want name %q email %q", c.name, st, me, c.display, strings.ToLower(c.email))
			}
		}
		if st, _, _ := s.postJSON(t, "/auth/signup", map[string]string{"email": "ÄDÄ@EXÄMPLE.com", "password": "password123"}); st != 409 {
			t.Errorf("same Unicode email in another case: %d, want 409", st)
		}
		if n := countRows(t, dbURL, "users"); n != len(cases) {
			t.Errorf("users = %d, want %d (the users table survived)", n, len(cases))
		}
	})
}
