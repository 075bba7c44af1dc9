package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store/storetest"
)

// registered is the client information response of RFC 7591 and 7592.
type registered struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope"`
}

// mcpMetadata is what an MCP host registers: a public client on a
// loopback port, with refresh tokens.
var mcpMetadata = map[string]any{"client_name": "Notes agent", "redirect_uris": []string{"http://127.0.0.1:33418/callback"},
	"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
	"token_endpoint_auth_method": "none", "scope": "notes.read"}

// register posts RFC 7591 metadata and decodes a 201.
func (s *server) register(t *testing.T, md any, hdr ...string) registered {
	t.Helper()
	st, h, body := s.postJSON(t, "/oauth2/register", md, hdr...)
	if st != http.StatusCreated || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("register: %d %s %s", st, h.Get("Cache-Control"), body)
	}
	var r registered
	decode(t, body, &r)
	return r
}

// adminClient is one client of GET /admin/clients.
func (s *server) adminClient(t *testing.T, admin, id string) map[string]any {
	t.Helper()
	st, _, body := s.get(t, "/admin/clients", bearer(admin)...)
	if st != http.StatusOK {
		t.Fatalf("list clients: %d %s", st, body)
	}
	var list struct {
		Clients []map[string]any `json:"clients"`
	}
	decode(t, body, &list)
	for _, c := range list.Clients {
		if c["clientId"] == id {
			return c
		}
	}
	t.Fatalf("client %s not listed", id)
	return nil
}

func wantInvalidToken(t *testing.T, what string, st int, h http.Header, body []byte) {
	t.Helper()
	wantOAuthError(t, what, st, h, body, http.StatusUnauthorized, "invalid_token")
	if h.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("%s: WWW-Authenticate %q", what, h.Get("WWW-Authenticate"))
	}
}

// Registration is off unless configured: the endpoint is a 404 and the
// metadata does not name it; on, both documents name it alike.
func TestRegistrationIsOffByDefault(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, testEnv(dbURL, nil))
	for _, m := range []string{http.MethodPost, http.MethodGet} {
		if st, _, body := do(t, m, s.Base+"/oauth2/register", "application/json", `{"redirect_uris":["https://a.example/cb"]}`); st != http.StatusNotFound {
			t.Errorf("%s /oauth2/register while off: %d %s", m, st, body)
		}
	}
	if st, _, _ := s.get(t, "/oauth2/register/x", bearer("x")...); st != http.StatusNotFound {
		t.Errorf("RFC 7592 endpoint while off: %d", st)
	}
	for _, doc := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		_, _, body := s.get(t, doc)
		if strings.Contains(string(body), "registration_endpoint") {
			t.Errorf("%s names a registration endpoint while off", doc)
		}
	}
	s.stop()

	for _, mode := range []string{"token", "open"} {
		s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_REGISTRATION": mode}))
		var as, od map[string]json.RawMessage
		_, _, body := s.get(t, "/.well-known/oauth-authorization-server")
		decode(t, body, &as)
		_, _, body = s.get(t, "/.well-known/openid-configuration")
		decode(t, body, &od)
		want := `"http://sigil.test/oauth2/register"`
		if string(as["registration_endpoint"]) != want || string(od["registration_endpoint"]) != want {
			t.Errorf("%s: registration_endpoint %s (RFC 8414) and %s (discovery), want %s", mode, as["registration_endpoint"], od["registration_endpoint"], want)
		}
	}
}

// With SIGIL_REGISTRATION=token a client registers with an initial
// access token that an administrator created: each registration spends
// a use; an unknown, used-up, expired or deleted token is 401.
func TestRegistrationWithInitialAccessTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clk := keystest.NewClock(time.Now())
		s := startServerClock(t, adminEnv(dbURL, map[string]string{"SIGIL_REGISTRATION": "token", "SIGIL_REGISTRATION_RATE_LIMIT": "0"}), clk.Now)
		admin := s.adminToken(t)
		st, h, body := s.postJSON(t, "/admin/registration-tokens", map[string]any{"expiresIn": "1h", "uses": 2}, bearer(admin)...)
		var tok struct {
			ID, Token string
			ExpiresAt time.Time
			Uses      int
		}
		decode(t, body, &tok)
		if st != http.StatusCreated || tok.Token == "" || tok.Uses != 2 || h.Get("Cache-Control") != "no-store" ||
			tok.ExpiresAt.Sub(clk.Now()) < 59*time.Minute || tok.ExpiresAt.Sub(clk.Now()) > time.Hour {
			t.Fatalf("create token: %d %s", st, body)
		}
		st, _, body = s.get(t, "/admin/registration-tokens", bearer(admin)...)
		if st != http.StatusOK || strings.Contains(string(body), tok.Token) || !strings.Contains(string(body), `"usesLeft":2`) {
			t.Fatalf("list tokens: %d %s", st, body)
		}
		if n := countRowsWhere(t, dbURL, "registration_tokens", "token_hash = '"+tok.Token+"'"); n != 0 {
			t.Error("the token is stored in clear")
		}

		st, h, body = s.postJSON(t, "/oauth2/register", mcpMetadata)
		wantInvalidToken(t, "no token", st, h, body)
		st, h, body = s.postJSON(t, "/oauth2/register", mcpMetadata, bearer("unknown-token")...)
		wantInvalidToken(t, "unknown token", st, h, body)
		// Refused metadata spends no use.
		st, h, body = s.postJSON(t, "/oauth2/register", map[string]any{"redirect_uris": []string{"http://example.com/cb"}}, bearer(tok.Token)...)
		wantOAuthError(t, "bad metadata", st, h, body, http.StatusBadRequest, "invalid_redirect_uri")
		a := s.register(t, mcpMetadata, bearer(tok.Token)...)
		s.register(t, mcpMetadata, bearer(tok.Token)...)
		st, h, body = s.postJSON(t, "/oauth2/register", mcpMetadata, bearer(tok.Token)...)
		wantInvalidToken(t, "used-up token", st, h, body)

		c := s.adminClient(t, admin, a.ClientID)
		if c["registered"] != true || c["registeredAt"] == nil || c["firstParty"] != false {
			t.Errorf("admin view of a registered client: %v", c)
		}
		if n := countEventsWhere(t, dbURL, "client.registered", "(token)"); n != 2 {
			t.Errorf("%d client.registered events (token), want 2", n)
		}

		// Expiry.
		_, _, body = s.postJSON(t, "/admin/registration-tokens", map[string]any{"expiresIn": 120}, bearer(admin)...)
		decode(t, body, &tok)
		clk.Advance(3 * time.Minute)
		st, h, body = s.postJSON(t, "/oauth2/register", mcpMetadata, bearer(tok.Token)...)
		wantInvalidToken(t, "expired token", st, h, body)

		// Deletion.
		_, _, body = s.postJSON(t, "/admin/registration-tokens", map[string]any{}, bearer(admin)...)
		decode(t, body, &tok)
		if st, _, body := do(t, http.MethodDelete, s.Base+"/admin/registration-tokens/"+tok.ID, "", "", bearer(admin)...); st != http.StatusNoContent {
			t.Fatalf("delete token: %d %s", st, body)
		}
		st, h, body = s.postJSON(t, "/oauth2/register", mcpMetadata, bearer(tok.Token)...)
		wantInvalidToken(t, "deleted token", st, h, body)
		if st, _, _ := do(t, http.MethodDelete, s.Base+"/admin/registration-tokens/"+tok.ID, "", "", bearer(admin)...); st != http.StatusNotFound {
			t.Errorf("second delete: %d", st)
		}
		for _, bad := range []map[string]any{{"uses": 0.5}, {"uses": -1}, {"uses": 1001}, {"expiresIn": "10s"}, {"expiresIn": "2200h"}} {
			if st, _, body := s.postJSON(t, "/admin/registration-tokens", bad, bearer(admin)...); st != http.StatusUnprocessableEntity {
				t.Errorf("create token %v: %d %s", bad, st, body)
			}
		}
	})
}

// Open registration, the client information it answers, and RFC 7592:
// the registration access token reads and deletes the client's own
// registration and nothing else.
func TestOpenRegistrationAndRFC7592(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_REGISTRATION": "open", "SIGIL_REGISTRATION_RATE_LIMIT": "0"}))
		admin := s.adminToken(t)
		md := map[string]any{}
		for k, v := range mcpMetadata {
			md[k] = v
		}
		// Members Sigil does not use, or that a registration may not
		// set, are ignored.
		md["logo_uri"], md["client_uri"], md["software_id"] = "https://evil.example/logo.png", "https://evil.example/", "x"
		md["firstParty"], md["audience"], md["first_party"] = true, "sigil", true
		a := s.register(t, md)
		if a.ClientID == "" || a.ClientSecret != "" || a.ClientSecretExpiresAt != nil || a.RegistrationAccessToken == "" ||
			a.RegistrationClientURI != "http://sigil.test/oauth2/register/"+a.ClientID || a.ClientName != "Notes agent" ||
			a.TokenEndpointAuthMethod != "none" || a.Scope != "notes.read" || strings.Join(a.GrantTypes, " ") != "authorization_code refresh_token" ||
			strings.Join(a.ResponseTypes, " ") != "code" || time.Since(time.Unix(a.ClientIDIssuedAt, 0)) > time.Minute {
			t.Fatalf("registration answer: %+v", a)
		}
		c := s.adminClient(t, admin, a.ClientID)
		if c["firstParty"] != false || c["audience"] != a.ClientID || c["public"] != true || c["registered"] != true {
			t.Errorf("registered client as the admin API shows it: %v", c)
		}
		if n := countEventsWhere(t, dbURL, "client.registered", "(open)"); n != 1 {
			t.Errorf("%d client.registered events (open), want 1", n)
		}

		// A confidential client gets a secret that never expires, and
		// only the sign-in grants.
		conf := s.register(t, map[string]any{"redirect_uris": []string{"https://app.example.com/cb", "com.example.app:/cb"}})
		if conf.ClientSecret == "" || conf.ClientSecretExpiresAt == nil || *conf.ClientSecretExpiresAt != 0 ||
			conf.TokenEndpointAuthMethod != "client_secret_basic" || strings.Join(conf.GrantTypes, " ") != "authorization_code" {
			t.Fatalf("confidential registration: %+v", conf)
		}
		st, h, body := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(conf.ClientID, conf.ClientSecret)...)
		wantOAuthError(t, "client_credentials of a registered client", st, h, body, http.StatusBadRequest, "unauthorized_client")
		if n := countRowsWhere(t, dbURL, "clients", "secret_hash = '"+conf.ClientSecret+"' OR registration_token_hash = '"+conf.RegistrationAccessToken+"'"); n != 0 {
			t.Error("a secret or registration access token stored in clear")
		}

		// RFC 7592 read.
		st, h, body = s.get(t, "/oauth2/register/"+a.ClientID, bearer(a.RegistrationAccessToken)...)
		var got registered
		decode(t, body, &got)
		if st != http.StatusOK || h.Get("Cache-Control") != "no-store" || got.ClientID != a.ClientID || got.ClientSecret != "" ||
			got.RegistrationAccessToken != "" || got.Scope != "notes.read" || got.TokenEndpointAuthMethod != "none" ||
			strings.Join(got.RedirectURIs, " ") != "http://127.0.0.1:33418/callback" || got.RegistrationClientURI != a.RegistrationClientURI {
			t.Errorf("read: %d %s", st, body)
		}
		adminMade, _ := s.createClient(t, admin, map[string]any{"name": "svc", "audience": "api"})
		for what, req := range map[string][2]string{
			"no token":                     {a.ClientID, ""},
			"wrong token":                  {a.ClientID, "nope"},
			"another client's token":       {a.ClientID, conf.RegistrationAccessToken},
			"unknown client":               {"00000000-0000-0000-0000-000000000000", a.RegistrationAccessToken},
			"a client made by an admin":    {adminMade, a.RegistrationAccessToken},
			"the console client":           {"sigil-console", a.RegistrationAccessToken},
			"a client secret as the token": {conf.ClientID, conf.ClientSecret},
		} {
			var hdr []string
			if req[1] != "" {
				hdr = bearer(req[1])
			}
			st, h, body := s.get(t, "/oauth2/register/"+req[0], hdr...)
			wantInvalidToken(t, "read, "+what, st, h, body)
			st, h, body = do(t, http.MethodDelete, s.Base+"/oauth2/register/"+req[0], "", "", hdr...)
			wantInvalidToken(t, "delete, "+what, st, h, body)
		}
		if st, _, _ := do(t, http.MethodPut, s.Base+"/oauth2/register/"+a.ClientID, "application/json", `{}`, bearer(a.RegistrationAccessToken)...); st != http.StatusMethodNotAllowed {
			t.Errorf("PUT: %d", st)
		}

		// RFC 7592 delete: the client is gone, its token with it.
		if st, _, body := do(t, http.MethodDelete, s.Base+"/oauth2/register/"+a.ClientID, "", "", bearer(a.RegistrationAccessToken)...); st != http.StatusNoContent {
			t.Fatalf("delete: %d %s", st, body)
		}
		st, h, body = s.get(t, "/oauth2/register/"+a.ClientID, bearer(a.RegistrationAccessToken)...)
		wantInvalidToken(t, "read after delete", st, h, body)
		if n := countEventsWhere(t, dbURL, "client.deleted", a.ClientID); n != 1 {
			t.Errorf("%d client.deleted events", n)
		}
	})
}

// Every refused registration is a 400 with RFC 7591's error code and a
// description, and registers nothing.
func TestRegistrationErrors(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_REGISTRATION": "open", "SIGIL_REGISTRATION_RATE_LIMIT": "0"}))
	before := countRows(t, dbURL, "clients")
	ok := `"redirect_uris":["https://app.example.com/cb"]`
	for _, c := range []struct{ name, body, code string }{
		{"no redirect_uris", `{"client_name":"x"}`, "invalid_redirect_uri"},
		{"empty redirect_uris", `{"redirect_uris":[]}`, "invalid_redirect_uri"},
		{"redirect_uris a string", `{"redirect_uris":"https://app.example.com/cb"}`, "invalid_redirect_uri"},
		{"http, not loopback", `{"redirect_uris":["http://app.example.com/cb"]}`, "invalid_redirect_uri"},
		{"http localhost", `{"redirect_uris":["http://localhost:8080/cb"]}`, "invalid_redirect_uri"},
		{"http 127.0.0.2", `{"redirect_uris":["http://127.0.0.2/cb"]}`, "invalid_redirect_uri"},
		{"javascript:", `{"redirect_uris":["javascript:alert(1)"]}`, "invalid_redirect_uri"},
		{"data:", `{"redirect_uris":["data:text/html,<script>alert(1)</script>"]}`, "invalid_redirect_uri"},
		{"file:", `{"redirect_uris":["file:///etc/passwd"]}`, "invalid_redirect_uri"},
		{"fragment", `{"redirect_uris":["https://app.example.com/cb#x"]}`, "invalid_redirect_uri"},
		{"wildcard", `{"redirect_uris":["https://*.example.com/cb"]}`, "invalid_redirect_uri"},
		{"user information", `{"redirect_uris":["https://user@app.example.com/cb"]}`, "invalid_redirect_uri"},
		{"relative", `{"redirect_uris":["/cb"]}`, "invalid_redirect_uri"},
		{"private-use scheme without a dot", `{"redirect_uris":["myapp:/cb"]}`, "invalid_redirect_uri"},
		{"private-use scheme with a host", `{"redirect_uris":["com.example.app://evil.example/cb"]}`, "invalid_redirect_uri"},
		{"a space", `{"redirect_uris":["https://app.example.com/c b"]}`, "invalid_redirect_uri"},
		{"a look-alike host", `{"redirect_uris":["https://\u0430pple.com/cb"]}`, "invalid_redirect_uri"},
		{"21 redirect URIs", `{"redirect_uris":[` + strings.TrimSuffix(strings.Repeat(`"https://app.example.com/cb",`, 21), ",") + `]}`, "invalid_redirect_uri"},
		{"client_credentials", `{` + ok + `,"grant_types":["client_credentials"]}`, "invalid_client_metadata"},
		{"client_credentials besides the code grant", `{` + ok + `,"grant_types":["authorization_code","client_credentials"]}`, "invalid_client_metadata"},
		{"password grant", `{` + ok + `,"grant_types":["authorization_code","password"]}`, "invalid_client_metadata"},
		{"implicit", `{` + ok + `,"grant_types":["implicit"]}`, "invalid_client_metadata"},
		{"device code", `{` + ok + `,"grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}`, "invalid_client_metadata"},
		{"refresh_token alone", `{` + ok + `,"grant_types":["refresh_token"]}`, "invalid_client_metadata"},
		{"response type token", `{` + ok + `,"response_types":["token"]}`, "invalid_client_metadata"},
		{"private_key_jwt", `{` + ok + `,"token_endpoint_auth_method":"private_key_jwt"}`, "invalid_client_metadata"},
		{"sigil:admin", `{` + ok + `,"scope":"openid sigil:admin"}`, "invalid_client_metadata"},
		{"another sigil: scope", `{` + ok + `,"scope":"sigil:anything"}`, "invalid_client_metadata"},
		{"scope with a quote", `{` + ok + `,"scope":"a\"b"}`, "invalid_client_metadata"},
		{"scope an array", `{` + ok + `,"scope":["openid"]}`, "invalid_client_metadata"},
		{"client_name too long", `{` + ok + `,"client_name":"` + strings.Repeat("n", 201) + `"}`, "invalid_client_metadata"},
		{"client_name with an escape sequence", `{` + ok + `,"client_name":"\u001b[31mSigil"}`, "invalid_client_metadata"},
		{"client_name with a bidi override", `{` + ok + `,"client_name":"\u202eSigil"}`, "invalid_client_metadata"},
		{"client_name a number", `{` + ok + `,"client_name":42}`, "invalid_client_metadata"},
		{"grant_types a string", `{` + ok + `,"grant_types":"authorization_code"}`, "invalid_client_metadata"},
		{"not JSON", `{"redirect_uris":`, "invalid_client_metadata"},
		{"an array", `[{` + ok + `}]`, "invalid_client_metadata"},
		{"duplicate member", `{` + ok + `,` + ok + `}`, "invalid_client_metadata"},
		{"invalid UTF-8", "{" + ok + ",\"client_name\":\"\xc3\x28\"}", "invalid_client_metadata"},
	} {
		st, h, body := do(t, http.MethodPost, s.Base+"/oauth2/register", "application/json", c.body)
		wantOAuthError(t, c.name, st, h, body, http.StatusBadRequest, c.code)
	}
	if st, h, body := do(t, http.MethodPost, s.Base+"/oauth2/register", "application/x-www-form-urlencoded", "redirect_uris=x"); st != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d %s %s", st, h.Get("Content-Type"), body)
	}
	if n := countRows(t, dbURL, "clients"); n != before {
		t.Errorf("refused registrations wrote %d clients", n-before)
	}
	// Accepted at the edges: loopback IPv6 and private-use schemes.
	r := s.register(t, map[string]any{"redirect_uris": []string{"http://[::1]/cb", "http://127.0.0.1:8000/cb", "com.example.app:/oauth"},
		"token_endpoint_auth_method": "client_secret_post", "scope": ""})
	if r.ClientSecret == "" || r.TokenEndpointAuthMethod != "client_secret_post" || r.ClientName != "" {
		t.Errorf("registration at the edges: %+v", r)
	}
}

// Open registration is limited per address, more tightly than the
// generic rate limit: five at once, then 429 with Retry-After.
func TestRegistrationRateLimit(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, adminEnv(dbURL, map[string]string{"SIGIL_REGISTRATION": "open"}))
	for i := range 5 {
		if st, _, body := s.postJSON(t, "/oauth2/register", mcpMetadata); st != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, st, body)
		}
	}
	st, h, body := s.postJSON(t, "/oauth2/register", mcpMetadata)
	wantOAuthError(t, "sixth registration", st, h, body, http.StatusTooManyRequests, "temporarily_unavailable")
	if h.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if n := countEventsWhere(t, dbURL, "request.throttled", "/oauth2/register"); n != 1 {
		t.Errorf("%d request.throttled events", n)
	}
}

// A registered client is third-party: the user is asked every time, its
// scopes are the registered ones (the default when none is asked for),
// and nothing else.
func TestRegisteredClientAlwaysGetsConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, map[string]string{"SIGIL_REGISTRATION": "open", "SIGIL_REGISTRATION_RATE_LIMIT": "0"})
		a := f.s.register(t, map[string]any{"client_name": "Notes agent", "redirect_uris": []string{"http://127.0.0.1/callback"},
			"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"}, "scope": "notes.read"})
		redirect := "http://127.0.0.1:9/callback" // any port (RFC 8252)
		b := newBrowserless(t, f.iss)
		authorize := func(extra url.Values) (page, string) {
			verifier := oauth2.GenerateVerifier()
			q := url.Values{"scope": {""}, "nonce": {""}, "redirect_uri": {redirect},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
			for k, v := range extra {
				q[k] = v
			}
			return b.get(f.authorizeURL(a.ClientID, q)), verifier
		}
		for i := range 2 {
			p, verifier := authorize(nil)
			if i == 0 {
				p = b.signIn(p, userEmail, userPassword)
			}
			if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="allow"`) || !strings.Contains(p.Body, "notes.read") ||
				!strings.Contains(p.Body, "Notes agent") {
				t.Fatalf("authorization %d: no consent page: %d %s\n%.400s", i+1, p.Status, p.Header.Get("Location"), p.Body)
			}
			form := hidden(p)
			form.Set("consent", "allow")
			p = b.post(f.iss+"/consent", form)
			code := p.Location().Query().Get("code")
			if code == "" {
				t.Fatalf("consent: %d %s", p.Status, p.Header.Get("Location"))
			}
			st, h, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {a.ClientID}})
			ans := tokenOK(t, "exchange", st, h, body)
			if c := verifyAccessToken(t, f.s, ans.AccessToken, a.ClientID); c.Scope != "notes.read" {
				t.Errorf("scope %q, want the registered notes.read", c.Scope)
			}
			// A third-party token is refused by Sigil's own API.
			if st, _, _ := f.s.get(t, "/auth/me", bearer(ans.AccessToken)...); st != http.StatusForbidden {
				t.Errorf("a registered client's token at /auth/me: %d", st)
			}
		}
		// Only what it registered: not even openid.
		p, _ := authorize(url.Values{"scope": {"openid notes.read"}})
		f.redirect = redirect
		f.wantRedirectError(t, "a scope not registered", p, "invalid_scope")
		p, _ = authorize(url.Values{"prompt": {"none"}})
		f.wantRedirectError(t, "prompt=none", p, "consent_required")
	})
}

// sigil registration-tokens creates, lists and deletes initial access
// tokens; the token is printed once, and works.
func TestRegistrationTokensCommand(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := adminEnv(dbURL, map[string]string{"SIGIL_REGISTRATION": "token"})
	out, errOut, err := runCLI(t, env, "", "registration-tokens", "create", "--uses", "3", "--expires-in", "2h")
	if err != nil {
		t.Fatalf("create: %v %s", err, errOut)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if fields["token"] == "" || fields["id"] == "" || fields["uses"] != "3" {
		t.Fatalf("create printed %q", out)
	}
	out, _, err = runCLI(t, env, "", "registration-tokens", "list")
	if err != nil || !strings.Contains(out, fields["id"]) || !strings.Contains(out, "3/3") || strings.Contains(out, fields["token"]) {
		t.Fatalf("list: %v %q", err, out)
	}
	s := startServer(t, env)
	s.register(t, mcpMetadata, bearer(fields["token"])...)
	s.stop()
	if _, errOut, err := runCLI(t, env, "", "registration-tokens", "create", "--uses", "5000"); err == nil || !strings.Contains(err.Error()+errOut, "--uses") {
		t.Errorf("create --uses 5000: %v %s", err, errOut)
	}
	if _, _, err := runCLI(t, env, "", "registration-tokens", "delete", fields["id"]); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, _, err := runCLI(t, env, "", "registration-tokens", "delete", fields["id"]); err == nil {
		t.Error("second delete succeeded")
	}
}

// countEventsWhere counts the audit events of type typ whose detail
// contains detail and that carry an address.
func countEventsWhere(t *testing.T, dbURL, typ, detail string) int {
	t.Helper()
	return countRowsWhere(t, dbURL, "audit_events", "type = '"+typ+"' AND ip <> '' AND detail LIKE '%"+strings.ReplaceAll(detail, "'", "''")+"%'")
}
