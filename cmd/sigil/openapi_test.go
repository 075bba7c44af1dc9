package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sigil-auth/sigil/store/storetest"
)

func init() {
	for _, ct := range []string{"text/html", "text/css", "application/yaml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// validating is an http.RoundTripper that checks every request and answer
// against the OpenAPI document the server serves, and records which
// documented operations were exercised.
type validating struct {
	t      *testing.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]bool
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	v.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("%s %s: not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return res, nil
	}
	v.mu.Lock()
	v.seen[route.Method+" "+route.Path] = true
	v.mu.Unlock()
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	// Requests the tests send on purpose malformed are not checked; their
	// answers are.
	if res.StatusCode < 400 {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			v.t.Errorf("%s %s: request does not follow openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("%s %s: answer %d does not follow openapi.yaml: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	return res, nil
}

// Drives every documented operation of a real server (SQLite) with a
// client that validates each request and answer against the served
// /openapi.yaml with kin-openapi; fails for an operation never exercised.
func TestOpenAPIAnswersFollowTheDocument(t *testing.T) {
	s := startServer(t, adminEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_REGISTRATION": "token"}))
	resp, err := http.Get(s.Base + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("/openapi.yaml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: s.Base}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	v := &validating{t: t, router: router, seen: map[string]bool{}}
	c := &http.Client{Transport: v, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	do := func(method, path, ctype, body string, hdr ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, s.Base+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	js := func(method, path, body string, hdr ...string) (int, map[string]any) {
		t.Helper()
		st, b := do(method, path, "application/json", body, hdr...)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return st, m
	}
	form := func(path string, f url.Values, hdr ...string) (int, map[string]any) {
		t.Helper()
		st, b := do("POST", path, "application/x-www-form-urlencoded", f.Encode(), hdr...)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return st, m
	}
	expect := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}

	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/static/sigil.css"} {
		st, _ := do("GET", p, "", "")
		expect(p, st, 200)
	}
	// The landing page for a browser, and the problem for anything else.
	st, _ := do("GET", "/", "", "", "Accept", "text/html")
	expect("landing page", st, 200)
	st, _ = do("GET", "/", "", "", "Accept", "application/json")
	expect("/ for an API client", st, 404)
	res, err := c.Get(s.Base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	st, _ = do("GET", "/.well-known/jwks.json", "", "", "If-None-Match", res.Header.Get("ETag"))
	expect("jwks If-None-Match", st, 304)

	st, _ = js("POST", "/auth/signup", `{"email":"ada@example.com","password":"a long password","name":"Ada"}`)
	expect("signup", st, 201)
	st, _ = js("POST", "/auth/signup", `{"email":"ada@example.com","password":"a long password","name":"Ada"}`)
	expect("signup taken", st, 409)
	st, _ = js("POST", "/auth/signup", `{"email":"nope","password":"a long password"}`)
	expect("signup invalid", st, 422)
	st, _ = js("POST", "/auth/login", `{"email":"ada@example.com","password":"wrong password"}`)
	expect("login wrong", st, 401)
	st, user := js("POST", "/auth/login", `{"email":"ada@example.com","password":"a long password"}`)
	expect("login", st, 200)
	userTok, _ := user["token"].(string)
	st, _ = js("GET", "/auth/me", "", "Authorization", "Bearer "+userTok)
	expect("me", st, 200)
	st, _ = js("GET", "/auth/me", "")
	expect("me without token", st, 401)
	st, ref := js("POST", "/auth/refresh", `{"refreshToken":"`+user["refreshToken"].(string)+`"}`)
	expect("refresh", st, 200)
	st, _ = js("POST", "/auth/refresh", `{"refreshToken":"not-a-token"}`)
	expect("refresh unknown", st, 401)
	st, _ = js("POST", "/auth/logout", `{"refreshToken":"`+ref["refreshToken"].(string)+`"}`)
	expect("logout", st, 204)

	_, adm := js("POST", "/auth/login", `{"email":"`+adminEmail+`","password":"`+adminPassword+`"}`)
	admin := []string{"Authorization", "Bearer " + adm["token"].(string)}
	// The logout above ended userTok's family, and its access tokens with
	// it: a new sign-in.
	_, user = js("POST", "/auth/login", `{"email":"ada@example.com","password":"a long password"}`)
	userTok, _ = user["token"].(string)
	st, _ = js("GET", "/admin/keys", "", "Authorization", "Bearer "+userTok)
	expect("admin as user", st, 403)
	st, keysList := js("GET", "/admin/keys", "", admin...)
	expect("keys", st, 200)
	oldKID := keysList["keys"].([]any)[0].(map[string]any)["kid"].(string)
	st, _ = js("POST", "/admin/keys/rotate", `{}`, admin...)
	expect("rotate", st, 201)
	st, _ = js("POST", "/admin/keys/"+oldKID+"/revoke", "", admin...)
	expect("revoke key", st, 200)
	// The admin's token was signed by the key just revoked.
	_, adm = js("POST", "/auth/login", `{"email":"`+adminEmail+`","password":"`+adminPassword+`"}`)
	admin = []string{"Authorization", "Bearer " + adm["token"].(string)}
	st, _ = js("POST", "/admin/keys/no-such-kid/revoke", "", admin...)
	expect("revoke unknown key", st, 404)
	st, _ = js("GET", "/admin/keys/timeline", "", admin...)
	expect("timeline", st, 200)
	st, _ = js("GET", "/admin/overview", "", admin...)
	expect("overview", st, 200)
	st, _ = js("POST", "/admin/tokens/inspect", `{"token":"`+userTok+`"}`, admin...)
	expect("inspect", st, 200)
	st, cl := js("POST", "/admin/clients", `{"name":"billing","scopes":["invoices"],"audience":"billing"}`, admin...)
	expect("create client", st, 201)
	st, _ = js("POST", "/admin/clients", `{"name":""}`, admin...)
	expect("create client invalid", st, 422)
	st, _ = js("GET", "/admin/clients", "", admin...)
	expect("list clients", st, 200)
	id := cl["clientId"].(string)
	st, sec := js("POST", "/admin/clients/"+id+"/secret", "", admin...)
	expect("rotate client secret", st, 200)
	secret, _ := sec["clientSecret"].(string)
	st, _ = js("GET", "/admin/audit?limit=5", "", admin...)
	expect("audit", st, 200)
	st, rs := js("POST", "/admin/resources", `{"uri":"https://notes.example.com/mcp","name":"Notes"}`, admin...)
	expect("create resource", st, 201)
	st, _ = js("POST", "/admin/resources", `{"uri":"https://notes.example.com/mcp","name":"Notes"}`, admin...)
	expect("create resource taken", st, 409)
	st, _ = js("POST", "/admin/resources", `{"uri":"http://notes.example.com/","name":"Notes"}`, admin...)
	expect("create resource invalid", st, 422)
	st, _ = js("GET", "/admin/resources", "", admin...)
	expect("list resources", st, 200)
	st, _ = js("DELETE", "/admin/resources/"+rs["id"].(string), "", admin...)
	expect("delete resource", st, 204)
	st, _ = js("DELETE", "/admin/resources/"+rs["id"].(string), "", admin...)
	expect("delete resource again", st, 404)

	// Upstream identity providers: the secret is never shown.
	up := `{"id":"corp","name":"Corp SSO","type":"oidc","issuer":"http://127.0.0.1:9","clientId":"sigil","clientSecret":"s3cret-value","linking":"verified-email"}`
	st, _ = js("POST", "/admin/upstreams", up, admin...)
	expect("create upstream", st, 201)
	st, _ = js("POST", "/admin/upstreams", up, admin...)
	expect("create upstream taken", st, 409)
	st, _ = js("POST", "/admin/upstreams", strings.Replace(strings.Replace(up, `"oidc"`, `"github"`, 1), "corp", "gh", 1), admin...)
	expect("create github upstream", st, 201)
	st, _ = js("POST", "/admin/upstreams", strings.Replace(up, "http://127.0.0.1:9", "http://idp.example.com", 1), admin...)
	expect("create upstream with plain http", st, 422)
	st, _ = js("GET", "/admin/upstreams", "", admin...)
	expect("list upstreams", st, 200)
	st, _ = js("GET", "/admin/upstreams/corp", "", admin...)
	expect("get upstream", st, 200)
	st, _ = js("PUT", "/admin/upstreams/corp", strings.Replace(up, "Corp SSO", "Corp", 1), admin...)
	expect("replace upstream", st, 200)
	st, _ = js("PUT", "/admin/upstreams/none", up, admin...)
	expect("replace unknown upstream", st, 404)
	st, _ = do("GET", "/login/upstream/corp/callback?state=forged&code=x", "", "")
	expect("upstream callback with a forged state", st, 400)
	st, _ = js("DELETE", "/admin/upstreams/corp", "", admin...)
	expect("delete upstream", st, 204)
	st, _ = js("GET", "/admin/upstreams/corp", "", admin...)
	expect("get deleted upstream", st, 404)
	st, _ = js("DELETE", "/admin/upstreams/corp", "", admin...)
	expect("delete upstream again", st, 404)

	// Dynamic client registration (RFC 7591, 7592) with an initial access
	// token.
	st, it := js("POST", "/admin/registration-tokens", `{"expiresIn":"1h","uses":2}`, admin...)
	expect("create registration token", st, 201)
	st, _ = js("POST", "/admin/registration-tokens", `{"uses":0.5}`, admin...)
	expect("create registration token invalid", st, 422)
	st, _ = js("GET", "/admin/registration-tokens", "", admin...)
	expect("list registration tokens", st, 200)
	initial, _ := it["token"].(string)
	st, _ = js("POST", "/oauth2/register", `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`, "Authorization", "Bearer wrong")
	expect("register with a wrong token", st, 401)
	st, _ = js("POST", "/oauth2/register", `{"redirect_uris":["http://example.com/cb"]}`, "Authorization", "Bearer "+initial)
	expect("register invalid", st, 400)
	st, rc := js("POST", "/oauth2/register", `{"redirect_uris":["https://app.example.com/cb"],"client_name":"App","scope":"notes.read"}`, "Authorization", "Bearer "+initial)
	expect("register", st, 201)
	regID, _ := rc["client_id"].(string)
	regToken, _ := rc["registration_access_token"].(string)
	st, _ = js("GET", "/oauth2/register/"+regID, "", "Authorization", "Bearer "+regToken)
	expect("read registration", st, 200)
	st, _ = js("GET", "/oauth2/register/"+regID, "", "Authorization", "Bearer wrong")
	expect("read registration, wrong token", st, 401)
	st, _ = js("DELETE", "/oauth2/register/"+regID, "", "Authorization", "Bearer "+regToken)
	expect("delete registration", st, 204)
	st, _ = js("DELETE", "/oauth2/register/"+regID, "", "Authorization", "Bearer "+regToken)
	expect("delete registration again", st, 401)
	st, _ = js("DELETE", "/admin/registration-tokens/"+it["id"].(string), "", admin...)
	expect("delete registration token", st, 204)
	st, _ = js("DELETE", "/admin/registration-tokens/"+it["id"].(string), "", admin...)
	expect("delete registration token again", st, 404)

	// Accounts: verification, reset, password and email change, sessions.
	st, _ = js("POST", "/auth/signup", `{"email":"cy@example.com","password":"a long password","name":"Cy"}`)
	expect("signup cy", st, 201)
	st, cy := js("POST", "/auth/login", `{"email":"cy@example.com","password":"a long password"}`)
	expect("login cy", st, 200)
	cyAuth := []string{"Authorization", "Bearer " + cy["token"].(string)}
	cyID := cy["userId"].(string)
	st, _ = js("POST", "/auth/verify-email", `{"token":"not-a-token"}`)
	expect("verify-email unknown token", st, 400)
	st, _ = js("POST", "/auth/verify-email/resend", "", cyAuth...)
	expect("verify-email resend", st, 202)
	st, _ = js("POST", "/auth/password/forgot", `{"email":"nobody@example.com"}`)
	expect("forgot", st, 202)
	st, _ = js("POST", "/auth/password/reset", `{"token":"not-a-token","password":"another long password"}`)
	expect("reset unknown token", st, 400)
	st, _ = js("GET", "/auth/sessions", "", cyAuth...)
	expect("sessions", st, 200)
	st, _ = js("DELETE", "/auth/sessions/no-such-session", "", cyAuth...)
	if st < 400 {
		t.Errorf("DELETE unknown session: %d", st)
	}
	st, _ = js("POST", "/auth/email", `{"email":"cy2@example.com","password":"a long password"}`, cyAuth...)
	expect("change email", st, 202)
	st, _ = js("POST", "/auth/password", `{"currentPassword":"a long password","newPassword":"a new long password"}`, cyAuth...)
	expect("change password", st, 204)
	st, _ = js("POST", "/auth/sessions/revoke-all", "", cyAuth...)
	expect("revoke-all", st, 204)
	st, _ = js("GET", "/admin/users?limit=10", "", admin...)
	expect("admin users", st, 200)
	st, _ = js("GET", "/admin/users/"+cyID, "", admin...)
	expect("admin user", st, 200)
	st, _ = js("GET", "/admin/users/"+cyID+"/sessions", "", admin...)
	expect("user sessions", st, 200)
	st, _ = js("GET", "/admin/users/"+cyID+"/mfa", "", admin...)
	expect("user second factors", st, 200)
	st, _ = js("POST", "/admin/users/"+cyID+"/sessions/revoke-all", "", admin...)
	expect("revoke user sessions", st, 204)
	st, _ = js("GET", "/admin/users/nobody/sessions", "", admin...)
	expect("sessions of no user", st, 404)
	st, _ = js("POST", "/admin/users/"+cyID+"/lock", "", admin...)
	expect("lock", st, 204)
	st, _ = js("POST", "/admin/users/"+cyID+"/unlock", "", admin...)
	expect("unlock", st, 204)
	st, _ = js("PUT", "/admin/users/"+cyID+"/roles", `{"roles":["editor"]}`, admin...)
	expect("roles", st, 204)
	st, _ = js("POST", "/admin/users/"+cyID+"/password-reset", "", admin...)
	expect("admin password reset", st, 202)
	// The administrator ended cy's sessions and their access tokens: cy
	// signs in again to delete the account.
	st, cy = js("POST", "/auth/login", `{"email":"cy@example.com","password":"a new long password"}`)
	expect("login cy again", st, 200)
	cyAuth = []string{"Authorization", "Bearer " + cy["token"].(string)}
	st, _ = js("DELETE", "/auth/me", `{"password":"a new long password"}`, cyAuth...)
	expect("delete me", st, 204)
	st, _ = js("DELETE", "/admin/users/"+cyID, "", admin...)
	expect("delete deleted user", st, 404)
	st, _ = js("POST", "/auth/signup", `{"email":"dee@example.com","password":"a long password","name":"Dee"}`)
	expect("signup dee", st, 201)
	_, dee := js("POST", "/auth/login", `{"email":"dee@example.com","password":"a long password"}`)
	st, _ = js("DELETE", "/admin/users/"+dee["userId"].(string), "", admin...)
	expect("delete user", st, 204)

	st, tok := form("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	expect("client_credentials", st, 200)
	st, _ = form("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"wrong"}})
	expect("client_credentials wrong secret", st, 401)
	st, _ = form("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret}})
	expect("unsupported grant", st, 400)
	st, _ = form("/oauth2/device_authorization", url.Values{"client_id": {id}, "client_secret": {secret}})
	expect("device authorization without the grant", st, 400)
	st, _ = form("/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {"x"}, "client_id": {id}, "client_secret": {secret}})
	expect("device code grant", st, 400)
	st, _ = form("/oauth2/introspect", url.Values{"token": {tok["access_token"].(string)}, "client_id": {id}, "client_secret": {secret}})
	expect("introspect", st, 200)
	st, _ = form("/oauth2/revoke", url.Values{"token": {"whatever"}, "client_id": {id}, "client_secret": {secret}})
	expect("revoke", st, 200)
	st, _ = js("GET", "/oauth2/userinfo", "")
	expect("userinfo without token", st, 401)
	st, _ = form("/oauth2/userinfo", url.Values{}, "Authorization", "Bearer "+userTok)
	expect("userinfo without openid", st, 401)
	st, _ = js("DELETE", "/admin/clients/"+id, "", admin...)
	expect("delete client", st, 204)

	st, _ = do("GET", "/oauth2/authorize?response_type=code&client_id=nope&redirect_uri=http://127.0.0.1/cb", "", "")
	expect("authorize unknown client", st, 400)
	st, _ = do("POST", "/oauth2/authorize", "application/x-www-form-urlencoded", "response_type=code&client_id=nope")
	expect("authorize POST unknown client", st, 400)
	for _, m := range []string{"GET", "POST"} {
		st, _ = do(m, "/oauth2/logout", "application/x-www-form-urlencoded", "")
		if st != 200 && st != 303 {
			t.Errorf("%s /oauth2/logout: %d", m, st)
		}
	}
	for _, p := range []string{"/login", "/signup", "/verify-email", "/forgot-password", "/reset-password", "/device"} {
		st, _ = do("GET", p, "", "")
		expect("GET "+p, st, 200)
	}
	st, _ = do("GET", "/account", "", "")
	expect("account without session", st, 303)
	st, _ = do("GET", "/setup?token=unknown", "", "")
	expect("set-up link once an administrator exists", st, 410)
	for _, p := range []string{"/login", "/signup", "/setup", "/consent", "/account/consents/revoke", "/verify-email", "/forgot-password",
		"/reset-password", "/account/password", "/account/sessions/revoke", "/account/delete", "/account/verify-email/resend",
		"/account/mfa/totp", "/account/mfa/totp/confirm", "/account/mfa/totp/remove", "/account/mfa/recovery-codes", "/login/mfa/enroll",
		"/account/passkeys/add", "/account/passkeys/rename", "/account/passkeys/remove", "/login/passkey", "/device", "/device/confirm",
		"/login/upstream", "/login/upstream/link", "/account/upstreams/link", "/account/upstreams/unlink"} {
		st, _ = do("POST", p, "application/x-www-form-urlencoded", "email=a%40b.c&password=x")
		if st < 300 {
			t.Errorf("POST %s without a CSRF token: %d", p, st)
		}
	}

	// Second factors: enrolment, wrong codes, the login step, a reset.
	st, _ = js("POST", "/auth/signup", `{"email":"mfa@example.com","password":"a long password"}`)
	expect("mfa signup", st, 201)
	st, ml := js("POST", "/auth/login", `{"email":"mfa@example.com","password":"a long password"}`)
	expect("mfa user login", st, 200)
	mfaUser := []string{"Authorization", "Bearer " + ml["token"].(string)}
	st, _ = js("GET", "/auth/mfa", "", mfaUser...)
	expect("factors", st, 200)
	st, _ = js("POST", "/auth/mfa/totp", "", mfaUser...)
	expect("enrol TOTP without the password", st, 400)
	st, _ = js("POST", "/auth/mfa/totp", `{"password":"not the password"}`, mfaUser...)
	expect("enrol TOTP with a wrong password", st, 401)
	st, _ = js("POST", "/auth/mfa/totp", `{"password":"a long password"}`, mfaUser...)
	expect("enrol TOTP", st, 200)
	st, _ = js("POST", "/auth/mfa/totp/confirm", `{"code":"12345x"}`, mfaUser...)
	expect("confirm with a malformed code", st, 422)
	st, _ = js("DELETE", "/auth/mfa/totp", `{"code":"000000"}`, mfaUser...)
	expect("remove without a factor", st, 422)
	st, _ = js("POST", "/auth/mfa/recovery-codes", `{"code":"000000"}`, mfaUser...)
	expect("recovery codes without a factor", st, 422)
	st, _ = js("POST", "/auth/login/mfa", `{"mfaToken":"unknown","code":"000000"}`)
	expect("second factor with an unknown mfaToken", st, 401)
	st, _ = js("GET", "/auth/mfa/webauthn/credentials", "", mfaUser...)
	expect("webauthn credentials", st, 200)
	st, _ = js("POST", "/auth/mfa/webauthn/register/begin", `{}`, mfaUser...)
	expect("webauthn register begin without the password", st, 400)
	st, _ = js("POST", "/auth/mfa/webauthn/register/begin", `{"password":"a long password"}`, mfaUser...)
	expect("webauthn register begin", st, 200)
	st, _ = js("POST", "/auth/mfa/webauthn/register/finish", `{"ceremonyId":"unknown","credential":{"id":"x"}}`, mfaUser...)
	expect("webauthn register finish with an unknown ceremony", st, 400)
	st, _ = js("PATCH", "/auth/mfa/webauthn/credentials/unknown", `{"name":"Laptop"}`, mfaUser...)
	expect("webauthn rename unknown", st, 404)
	st, _ = js("DELETE", "/auth/mfa/webauthn/credentials/unknown", `{"password":"not the password"}`, mfaUser...)
	expect("webauthn remove with a wrong password", st, 401)
	st, _ = js("DELETE", "/auth/mfa/webauthn/credentials/unknown", `{"password":"a long password"}`, mfaUser...)
	expect("webauthn remove unknown", st, 404)
	st, _ = js("POST", "/auth/login/webauthn/begin", `{}`)
	expect("webauthn login begin", st, 200)
	st, _ = js("POST", "/auth/login/webauthn/finish", `{"ceremonyId":"unknown","credential":{"id":"x"}}`)
	expect("webauthn login finish with an unknown ceremony", st, 400)
	st, _ = js("DELETE", "/admin/users/"+ml["userId"].(string)+"/mfa", "", admin...)
	expect("reset factors", st, 204)
	st, _ = do("POST", "/login/mfa", "application/x-www-form-urlencoded", "code=123456")
	if st < 300 {
		t.Errorf("POST /login/mfa without a CSRF token: %d", st)
	}

	// The admin console: without a session every page starts the sign-in.
	consoleOps(t, do)

	// The passkey script's begin endpoints answer JSON, also when refused.
	for _, p := range []string{"/account/passkeys/begin", "/login/passkey/begin"} {
		st, _ = do("POST", p, "application/x-www-form-urlencoded", "csrf_token=x")
		expect("POST "+p+" without a CSRF cookie", st, 403)
	}

	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !v.seen[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented operations this test never exercised: %v", missing)
	}
}
