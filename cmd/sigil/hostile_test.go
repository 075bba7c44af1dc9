package main

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// jsonEndpoint is a JSON endpoint and a well-formed body for it.
type jsonEndpoint struct {
	method string // POST when empty
	path   string
	valid  string // a well-shaped body (its values need not succeed)
	field  string // a string field to put bad values in
	// admin endpoints are called with an administrator's token, so the
	// body is what gets judged.
	admin bool
	// emptyOK: an empty body is a valid request (POST /admin/keys/rotate).
	emptyOK bool
	// user endpoints are called with a (non-admin) user's access token.
	user bool
}

// jsonEndpoints are every endpoint of the API that reads a JSON body.
// TestEveryBodyRouteIsInAHostileInputTable (package api) keeps the list in
// step with the routes.
var jsonEndpoints = []jsonEndpoint{
	{path: "/auth/signup", valid: `{"email":"h@example.com","password":"password123","name":"H"}`, field: "email"},
	{path: "/auth/login", valid: `{"email":"h@example.com","password":"password123"}`, field: "email"},
	{path: "/auth/refresh", valid: `{"refreshToken":"x"}`, field: "refreshToken"},
	{path: "/auth/logout", valid: `{"refreshToken":"x"}`, field: "refreshToken"},
	{path: "/admin/clients", valid: `{"name":"h","scopes":["a"],"audience":"api"}`, field: "audience", admin: true},
	{path: "/admin/resources", valid: `{"uri":"https://api.example.com/","name":"h"}`, field: "uri", admin: true},
	{path: "/admin/upstreams", valid: `{"id":"h","name":"h","type":"oidc","issuer":"https://idp.example.com","clientId":"c","clientSecret":"s"}`, field: "issuer", admin: true},
	{method: http.MethodPut, path: "/admin/upstreams/h", valid: `{"name":"h","type":"oidc","issuer":"https://idp.example.com","clientId":"c","clientSecret":"s"}`, field: "clientSecret", admin: true},
	{path: "/admin/registration-tokens", valid: `{"expiresIn":"1h","uses":2}`, field: "expiresIn", admin: true},
	{path: "/admin/keys/rotate", valid: `{"alg":"EdDSA"}`, field: "alg", admin: true, emptyOK: true},
	{path: "/admin/tokens/inspect", valid: `{"token":"a.b.c"}`, field: "token", admin: true},
	{path: "/auth/verify-email", valid: `{"token":"x"}`, field: "token"},
	{path: "/auth/password/forgot", valid: `{"email":"h@example.com"}`, field: "email"},
	{path: "/auth/password/reset", valid: `{"token":"x","password":"password123"}`, field: "token"},
	// The administrator's token is a user's token too.
	{path: "/auth/password", valid: `{"currentPassword":"x","newPassword":"password123"}`, field: "currentPassword", admin: true},
	{path: "/auth/email", valid: `{"email":"h@example.com","password":"x"}`, field: "email", admin: true},
	{path: "/auth/login/mfa", valid: `{"mfaToken":"x","code":"123456"}`, field: "mfaToken"},
	{path: "/auth/mfa/totp", valid: `{"password":"x"}`, field: "password", user: true},
	{path: "/auth/mfa/totp/confirm", valid: `{"code":"123456"}`, field: "code", user: true},
	{path: "/auth/mfa/recovery-codes", valid: `{"code":"123456"}`, field: "code", user: true},
	{path: "/auth/mfa/webauthn/register/begin", valid: `{"password":"x"}`, field: "password", user: true},
	{path: "/auth/mfa/webauthn/register/finish", valid: `{"ceremonyId":"x","credential":{"id":"x"}}`, field: "ceremonyId", user: true},
	{path: "/auth/login/webauthn/begin", valid: `{"mfaToken":"x"}`, field: "mfaToken", emptyOK: true},
	{path: "/auth/login/webauthn/finish", valid: `{"ceremonyId":"x","credential":{"id":"x"}}`, field: "ceremonyId"},
	// Deletions that ask for proof in their body.
	{method: http.MethodDelete, path: "/auth/me", valid: `{"password":"x"}`, field: "password", user: true},
	{method: http.MethodDelete, path: "/auth/mfa/totp", valid: `{"code":"123456"}`, field: "code", user: true},
	{method: http.MethodDelete, path: "/auth/mfa/webauthn/credentials/x", valid: `{"password":"x"}`, field: "password", user: true},
}

// Hostile bodies on every JSON endpoint get a clear 4xx problem+json
// (naming the field for 422) and write no row. Unknown fields are
// rejected, not ignored: a misspelt or smuggled field ("admin": true)
// must not pass silently.
func TestHostileInputOnEveryJSONEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		user := s.signupLogin(t, "taken@example.com", "password123").Token
		admin := s.adminToken(t)
		auth := func(ep jsonEndpoint) []string {
			if ep.admin {
				return bearer(admin)
			}
			if ep.user {
				return bearer(user)
			}
			return nil
		}
		served := jsonEndpoints
		tables := []string{"users", "refresh_tokens", "clients", "resources", "registration_tokens", "signing_keys", "revoked_tokens", "mfa_totp", "mfa_recovery_codes", "mfa_tokens", "webauthn_credentials", "webauthn_ceremonies", "device_authorizations",
			"upstreams", "upstream_identities", "upstream_pending"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = countRows(t, dbURL, tb)
		}
		// A well-formed wrong password sent by the signed-in user (to
		// delete the account, add or remove a second factor) is a guess and counts
		// toward that user's lockout; no other throttle row may appear.
		const othersThrottle = "email <> 'taken@example.com'"
		throttledBefore := countRowsWhere(t, dbURL, "login_throttle", othersThrottle)

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
				if c.name == "empty body" && ep.emptyOK {
					continue
				}
				method := cmp.Or(ep.method, http.MethodPost)
				st, h, body := do(t, method, s.Base+ep.path, c.ctype, c.body, auth(ep)...)
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
			admin            bool
		}{
			{"field name with long s (folds to password)", "/auth/signup", `{"email":"ls@example.com","paſſword":"password123"}`, 422, "paſſword", false},
			{"duplicate by Unicode folding", "/auth/login", `{"email":"taken@example.com","password":"x","paſſword":"password123"}`, 400, "", false},
			{"email with NUL escape", "/auth/signup", `{"email":"a\u0000@example.com","password":"password123"}`, 422, "email", false},
			{"email with zero-width space", "/auth/signup", `{"email":"a@exa\u200bmple.com","password":"password123"}`, 422, "email", false},
			{"email with bidi override", "/auth/signup", `{"email":"\u202eadmin@example.com","password":"password123"}`, 422, "email", false},
			{"SQL in email", "/auth/signup", `{"email":"x@x.io' OR '1'='1","password":"password123"}`, 422, "email", false},
			{"SQL comment email", "/auth/signup", `{"email":"robert'); DROP TABLE users;--@example.com","password":"password123"}`, 422, "email", false},
			{"email with display name", "/auth/signup", `{"email":"Eve <eve@example.com>","password":"password123"}`, 422, "email", false},
			{"email too long", "/auth/signup", `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"password123"}`, 422, "email", false},
			{"huge email", "/auth/signup", `{"email":"` + huge + `@example.com","password":"password123"}`, 422, "email", false},
			{"name with NUL", "/auth/signup", `{"email":"n@example.com","password":"password123","name":"a\u0000b"}`, 422, "name", false},
			{"name with escape sequence", "/auth/signup", `{"email":"n@example.com","password":"password123","name":"\u001b[31mred"}`, 422, "name", false},
			{"huge name", "/auth/signup", `{"email":"n@example.com","password":"password123","name":"` + huge + `"}`, 422, "name", false},
			{"password of 7 bytes", "/auth/signup", `{"email":"p@example.com","password":"1234567"}`, 422, "password", false},
			{"password of 7 bytes, 4 characters", "/auth/signup", `{"email":"p@example.com","password":"ééé1"}`, 422, "password", false},
			{"password of 1025 bytes", "/auth/signup", `{"email":"p@example.com","password":"` + long + `"}`, 422, "password", false},
			{"huge password", "/auth/signup", `{"email":"p@example.com","password":"` + huge + `"}`, 422, "password", false},
			{"empty password", "/auth/signup", `{"email":"p@example.com","password":""}`, 422, "password", false},
			{"email taken, other case", "/auth/signup", `{"email":"TAKEN@Example.COM","password":"password123"}`, 409, "", false},
			{"login: huge password", "/auth/login", `{"email":"taken@example.com","password":"` + huge + `"}`, 401, "", false},
			{"login: SQL in email", "/auth/login", `{"email":"' OR 1=1 --","password":"password123"}`, 401, "", false},
			{"login: missing email", "/auth/login", `{"password":"password123"}`, 422, "email", false},
			{"login: empty password", "/auth/login", `{"email":"taken@example.com","password":""}`, 422, "password", false},
			{"refresh: huge token", "/auth/refresh", `{"refreshToken":"` + huge + `"}`, 401, "", false},
			{"refresh: SQL token", "/auth/refresh", `{"refreshToken":"' OR 1=1 --"}`, 401, "", false},
			{"refresh: empty token", "/auth/refresh", `{"refreshToken":""}`, 422, "refreshToken", false},
			{"logout: empty token", "/auth/logout", `{"refreshToken":""}`, 422, "refreshToken", false},
			{"client: missing name", "/admin/clients", `{"scopes":["a"],"audience":"api"}`, 422, "name", true},
			{"client: name with NUL", "/admin/clients", `{"name":"a\u0000b","audience":"api"}`, 422, "name", true},
			{"client: name with escape sequence", "/admin/clients", `{"name":"\u001b[31m","audience":"api"}`, 422, "name", true},
			{"client: name of 201 characters", "/admin/clients", `{"name":"` + strings.Repeat("n", 201) + `","audience":"api"}`, 422, "name", true},
			{"client: huge name", "/admin/clients", `{"name":"` + huge + `","audience":"api"}`, 422, "name", true},
			{"client: audience in full-width letters", "/admin/clients", `{"name":"svc","audience":"\uff41\uff50\uff49"}`, 422, "audience", true},
			{"client: audience with a space", "/admin/clients", `{"name":"svc","audience":"a b"}`, 422, "audience", true},
			{"client: huge audience", "/admin/clients", `{"name":"svc","audience":"` + huge + `"}`, 422, "audience", true},
			{"client: scopes a number", "/admin/clients", `{"name":"svc","audience":"api","scopes":42}`, 422, "scopes", true},
			{"client: scopes with an object", "/admin/clients", `{"name":"svc","audience":"api","scopes":[{"$ne":1}]}`, 422, "scopes", true},
			{"client: scope with a quote", "/admin/clients", `{"name":"svc","audience":"api","scopes":["a\"b"]}`, 422, "scopes", true},
			{"client: SQL scope", "/admin/clients", `{"name":"svc","audience":"api","scopes":["' OR 1=1 --"]}`, 422, "scopes", true},
			{"client: negative tokenTtl", "/admin/clients", `{"name":"svc","audience":"api","tokenTtl":-5}`, 422, "tokenTtl", true},
			{"client: fractional tokenTtl", "/admin/clients", `{"name":"svc","audience":"api","tokenTtl":1.5}`, 422, "tokenTtl", true},
			{"client: tokenTtl over the access TTL", "/admin/clients", `{"name":"svc","audience":"api","tokenTtl":"48h"}`, 422, "tokenTtl", true},
			{"client: tokenTtl not a duration", "/admin/clients", `{"name":"svc","audience":"api","tokenTtl":"soon"}`, 422, "tokenTtl", true},
			{"client: tokenTtl 1e300", "/admin/clients", `{"name":"svc","audience":"api","tokenTtl":1e300}`, 422, "tokenTtl", true},
			{"rotate: alg none", "/admin/keys/rotate", `{"alg":"none"}`, 422, "alg", true},
			{"rotate: alg HS256", "/admin/keys/rotate", `{"alg":"HS256"}`, 422, "alg", true},
			{"rotate: huge alg", "/admin/keys/rotate", `{"alg":"` + huge + `"}`, 422, "alg", true},
			{"rotate: alg with NUL", "/admin/keys/rotate", `{"alg":"RS256\u0000"}`, 422, "alg", true},
			{"rotate: whitespace body", "/admin/keys/rotate", "  \n ", 400, "", true},
			{"mfa login: empty code", "/auth/login/mfa", `{"mfaToken":"x","code":" "}`, 422, "code", false},
			{"mfa login: missing mfaToken", "/auth/login/mfa", `{"code":"123456"}`, 422, "mfaToken", false},
			{"mfa login: unknown mfaToken", "/auth/login/mfa", `{"mfaToken":"' OR 1=1 --","code":"123456"}`, 401, "", false},
			{"mfa login: huge mfaToken", "/auth/login/mfa", `{"mfaToken":"` + huge + `","code":"123456"}`, 401, "", false},
			{"webauthn finish: credential a string", "/auth/login/webauthn/finish", `{"ceremonyId":"x","credential":"abc"}`, 422, "credential", false},
			{"webauthn finish: no credential", "/auth/login/webauthn/finish", `{"ceremonyId":"x"}`, 422, "credential", false},
			{"webauthn finish: unknown ceremony", "/auth/login/webauthn/finish", `{"ceremonyId":"' OR 1=1 --","credential":{"id":"x"}}`, 400, "", false},
			{"webauthn begin: unknown mfaToken", "/auth/login/webauthn/begin", `{"mfaToken":"' OR 1=1 --"}`, 401, "", false},
			{"totp enrol: no password", "/auth/mfa/totp", `{}`, 400, "password", true},
			{"totp enrol: empty password", "/auth/mfa/totp", `{"password":""}`, 400, "password", true},
			{"passkey register: no password", "/auth/mfa/webauthn/register/begin", `{}`, 400, "password", true},
			{"passkey register: huge password", "/auth/mfa/webauthn/register/begin", `{"password":"` + huge + `"}`, 401, "", true},
		}
		for _, c := range domain {
			var hdr []string
			if c.admin {
				hdr = bearer(admin)
			}
			st, h, body := do(t, http.MethodPost, s.Base+c.path, "application/json", c.body, hdr...)
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
		if n := countRowsWhere(t, dbURL, "login_throttle", othersThrottle); n != throttledBefore {
			t.Errorf("hostile input wrote login_throttle rows: %d → %d", throttledBefore, n)
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

// formEndpoint is an /oauth2/* endpoint and where a hostile value goes.
type formEndpoint struct {
	path string
	// base is a well-formed body without the hostile parameter.
	base url.Values
	// param carries the hostile value.
	param string
	// basic: the request authenticates the confidential client with HTTP
	// Basic.
	basic bool
	// valueStatus and valueError are the answer to a well-formed request
	// whose param value is garbage: RFC 6749 invalid_grant at the token
	// endpoint, while RFC 7009 revocation answers 200 and RFC 7662
	// introspection {"active":false} for any token they do not know.
	valueStatus int
	valueError  string
}

// Hostile form bodies on every /oauth2/* endpoint get an RFC 6749 error
// (application/json {"error","error_description"}, no-store), or the
// RFC's normal answer for an unknown token, never a 500, and write no row.
func TestHostileFormInputOnOAuthEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.adminToken(t)
		id, secret := s.createClient(t, admin, map[string]any{"name": "rs", "scopes": []string{"read"}, "audience": "api",
			"grantTypes": []string{"client_credentials", deviceGrant}})
		endpoints := []formEndpoint{
			// The device grant (RFC 8628): a garbage device code is
			// invalid_grant; at the device authorization endpoint an
			// unregistered resource is invalid_target and a scope the
			// client may not have invalid_scope.
			{"/oauth2/token", url.Values{"grant_type": {deviceGrant}}, "device_code", true, 400, "invalid_grant"},
			{"/oauth2/device_authorization", url.Values{}, "resource", true, 400, "invalid_target"},
			{"/oauth2/device_authorization", url.Values{}, "scope", true, 400, "invalid_scope"},
			{"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"sigil"}}, "refresh_token", false, 400, "invalid_grant"},
			{"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {"http://127.0.0.1:9/cb"}}, "code", true, 400, "invalid_grant"},
			// A resource indicator (RFC 8707) on every grant; not registered: invalid_target.
			{"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "resource", true, 400, "invalid_target"},
			{"/oauth2/revoke", url.Values{}, "token", true, 200, ""},
			{"/oauth2/introspect", url.Values{}, "token", true, 200, ""},
		}
		tables := []string{"users", "refresh_tokens", "login_throttle", "clients", "signing_keys", "revoked_tokens", "mfa_totp", "mfa_recovery_codes", "mfa_tokens", "webauthn_credentials", "webauthn_ceremonies", "device_authorizations"}
		before := map[string]int{}
		for _, tb := range tables {
			before[tb] = countRows(t, dbURL, tb)
		}
		const form = "application/x-www-form-urlencoded"
		huge := strings.Repeat("A", 60<<10)
		for _, ep := range endpoints {
			valid := func(v string) string {
				f := url.Values{}
				for k, vs := range ep.base {
					f[k] = vs
				}
				f.Set(ep.param, v)
				return f.Encode()
			}
			auth := func() []string {
				if ep.basic {
					return basic(id, secret)
				}
				return nil
			}
			cases := []struct {
				name, method, ctype, body string
				hdr                       []string
				status                    int    // 0: the endpoint's answer to a garbage value
				code                      string // the RFC 6749 error code
			}{
				{"empty body", "POST", form, ``, nil, 400, "invalid_request"},
				{"malformed percent-encoding", "POST", form, valid("x") + "&%zz=1", nil, 400, "invalid_request"},
				{"semicolon separator", "POST", form, valid("x") + ";a=b", nil, 400, "invalid_request"},
				{"duplicate parameter", "POST", form, valid("x") + "&" + ep.param + "=y", nil, 400, "invalid_request"},
				{"duplicate parameter, one empty", "POST", form, valid("x") + "&" + ep.param + "=", nil, 400, "invalid_request"},
				{"JSON body", "POST", "application/json", `{"` + ep.param + `":"x"}`, nil, 400, "invalid_request"},
				{"text/plain", "POST", "text/plain", valid("x"), nil, 400, "invalid_request"},
				{"multipart", "POST", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nx\r\n--b--\r\n", nil, 400, "invalid_request"},
				{"no content type", "POST", "", valid("x"), nil, 400, "invalid_request"},
				{"malformed content type", "POST", form + "; ===", valid("x"), nil, 400, "invalid_request"},
				{"body over 64 KiB", "POST", form, valid(strings.Repeat("x", 65<<10)), nil, 413, "invalid_request"},
				{"GET with the parameters in the URL", "GET", "", "", nil, 405, "invalid_request"},
				{"Basic and client_secret together", "POST", form, valid("x") + "&client_secret=" + secret, basic(id, secret), 400, "invalid_request"},
				{"Basic not base64", "POST", form, valid("x"), []string{"Authorization", "Basic !!!"}, 401, "invalid_client"},
				{"Basic with NUL id and secret", "POST", form, valid("x"), basic("\x00", "\x00"), 401, "invalid_client"},
				{"Basic without a colon", "POST", form, valid("x"), []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(id))}, 401, "invalid_client"},
				{"Basic with a huge secret", "POST", form, valid("x"), basic(id, strings.Repeat("s", 8<<10)), 401, "invalid_client"},
				{"Bearer instead of Basic", "POST", form, valid("x"), []string{"Authorization", "Bearer " + secret}, 401, "invalid_client"},
				{"client_secret with NUL client_id", "POST", form, valid("x") + "&client_id=%00&client_secret=x", nil, 0, ""},
				{"NUL byte in the value", "POST", form, valid("a\x00b"), nil, 0, ""},
				{"raw NUL byte in the body", "POST", form, strings.Replace(valid("ab"), "ab", "a\x00b", 1), nil, 0, ""},
				{"invalid UTF-8 in the value", "POST", form, valid("\xff\xfe"), nil, 0, ""},
				{"huge value", "POST", form, valid(huge), nil, 0, ""},
				{"SQL in the value", "POST", form, valid("' OR 1=1 --"), nil, 0, ""},
				{"JWT-shaped garbage", "POST", form, valid("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), nil, 0, ""},
			}
			for _, c := range cases {
				hdr := c.hdr
				if hdr == nil {
					hdr = auth()
				} else {
					// The request authenticates with its own header alone.
					c.body = strings.Replace(c.body, "client_id=sigil&", "", 1)
				}
				if c.name == "client_secret with NUL client_id" {
					hdr = nil
					c.status, c.code = 401, "invalid_client"
					if ep.base.Has("client_id") {
						c.status, c.code = 400, "invalid_request" // client_id given twice
					}
				}
				if c.status == 0 {
					c.status, c.code = ep.valueStatus, ep.valueError
				}
				if ep.path == "/oauth2/device_authorization" && c.name == "empty body" {
					// Every parameter is optional for an authenticated
					// client: a device authorization with its scopes.
					c.status, c.code = 200, ""
					before["device_authorizations"]++
				}
				if ep.param == "resource" && strings.HasPrefix(c.name, "duplicate parameter") {
					// Several resources ask for a token of several
					// audiences, which Sigil does not issue.
					c.code = "invalid_target"
				}
				st, h, body := do(t, c.method, s.Base+ep.path, c.ctype, c.body, hdr...)
				what := ep.path + " " + c.name
				if st != c.status {
					t.Errorf("%s: %d %.200s, want %d %s", what, st, body, c.status, c.code)
					continue
				}
				if c.code == "" {
					// The RFC's answer to an unknown token: 200, and for
					// introspection {"active":false}.
					if ep.path == "/oauth2/introspect" && strings.TrimSpace(string(body)) != `{"active":false}` {
						t.Errorf("%s: %s, want {\"active\":false}", what, body)
					}
					continue
				}
				var e oauthErr
				if err := json.Unmarshal(body, &e); err != nil || e.Error != c.code || e.Description == "" ||
					h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: %d %s %q %.200s, want an RFC 6749 %s error", what, st, h.Get("Content-Type"), h.Get("Cache-Control"), body, c.code)
				}
				if st == 401 && c.hdr != nil && strings.HasPrefix(c.hdr[1], "Basic") && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("%s: invalid_client after Basic without WWW-Authenticate: Basic", what)
				}
			}
		}
		// Ids in admin URLs and queries that no database should see.
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{"DELETE", "/admin/clients/%00", 404},
			{"DELETE", "/admin/clients/%FF%FE", 404},
			{"DELETE", "/admin/clients/" + strings.Repeat("x", 200), 404},
			{"GET", "/admin/upstreams/%00", 404},
			{"DELETE", "/admin/upstreams/%FF%FE", 404},
			{"GET", "/admin/upstreams/" + strings.Repeat("x", 200), 404},
			{"POST", "/admin/keys/%00/revoke", 404},
			{"GET", "/admin/audit?type=%00", 422},
			{"GET", "/admin/audit?userId=%00", 422},
			{"GET", "/admin/audit?userId=%FF", 422},
		} {
			st, h, body := do(t, c.method, s.Base+c.path, "", "", bearer(admin)...)
			if st != c.status || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s: %d %s %.200s, want %d problem+json", c.method, c.path, st, h.Get("Content-Type"), body, c.status)
			}
		}
		for _, tb := range tables {
			if n := countRows(t, dbURL, tb); n != before[tb] {
				t.Errorf("hostile form input wrote %s rows: %d → %d", tb, before[tb], n)
			}
		}
	})
}
