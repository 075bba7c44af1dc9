package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sigil-auth/sigil/store/storetest"
	"github.com/sigil-auth/sigil/verify"
)

// The RFC 8414 metadata and OpenID discovery come from one value: every
// member of the first is in the second with the same value, and neither
// names an endpoint Sigil does not serve.
func TestAuthorizationServerMetadataAgreesWithDiscovery(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	read := func(path string) map[string]json.RawMessage {
		st, h, body := s.get(t, path)
		if st != http.StatusOK || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %s", path, st, h.Get("Content-Type"), body)
		}
		var m map[string]json.RawMessage
		decode(t, body, &m)
		return m
	}
	as, oidcDoc := read("/.well-known/oauth-authorization-server"), read("/.well-known/openid-configuration")
	for k, v := range as {
		if string(oidcDoc[k]) != string(v) {
			t.Errorf("%s: %s in RFC 8414 metadata, %s in discovery", k, v, oidcDoc[k])
		}
	}
	iss := strings.TrimRight(s.vars["SIGIL_ISSUER"], "/")
	want := map[string]string{
		"issuer": `"` + iss + `"`, "authorization_endpoint": `"` + iss + `/oauth2/authorize"`, "token_endpoint": `"` + iss + `/oauth2/token"`,
		"revocation_endpoint": `"` + iss + `/oauth2/revoke"`, "introspection_endpoint": `"` + iss + `/oauth2/introspect"`,
		"jwks_uri": `"` + iss + `/.well-known/jwks.json"`, "code_challenge_methods_supported": `["S256"]`,
		"authorization_response_iss_parameter_supported": `true`, "response_types_supported": `["code"]`,
		"grant_types_supported":         `["authorization_code","client_credentials","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]`,
		"device_authorization_endpoint": `"` + iss + `/oauth2/device_authorization"`,
	}
	for k, v := range want {
		if string(as[k]) != v {
			t.Errorf("%s = %s, want %s", k, as[k], v)
		}
	}
	// Registration is not served (listing it would send clients to a
	// 404); userinfo is OpenID's alone.
	for _, k := range []string{"registration_endpoint", "userinfo_endpoint"} {
		if _, ok := as[k]; ok {
			t.Errorf("RFC 8414 metadata lists %s", k)
		}
	}
	if string(oidcDoc["device_authorization_endpoint"]) != `"`+iss+`/oauth2/device_authorization"` {
		t.Errorf("discovery's device endpoint: %s", oidcDoc["device_authorization_endpoint"])
	}
}

// The admin API registers, lists and deletes resource servers, refuses
// what is not an absolute https (or loopback http) URL without fragment,
// a duplicate and Sigil's own audience, and audits each change.
func TestResourcesAdminAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.adminToken(t)
		st, h, body := s.postJSON(t, "/admin/resources", map[string]string{"uri": "https://mcp.example.com/mcp", "name": "Notes MCP"}, bearer(admin)...)
		var r struct{ ID, URI, Name string }
		decode(t, body, &r)
		if st != http.StatusCreated || r.ID == "" || r.URI != "https://mcp.example.com/mcp" || r.Name != "Notes MCP" || h.Get("Location") != "/admin/resources/"+r.ID {
			t.Fatalf("create: %d %s %v", st, body, h)
		}
		if st, _, body := s.postJSON(t, "/admin/resources", map[string]string{"uri": "http://127.0.0.1:8080/mcp", "name": "Local"}, bearer(admin)...); st != http.StatusCreated {
			t.Fatalf("create a loopback resource: %d %s", st, body)
		}
		st, h, body = s.postJSON(t, "/admin/resources", map[string]string{"uri": "https://mcp.example.com/mcp", "name": "Again"}, bearer(admin)...)
		if st != http.StatusConflict || h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("duplicate: %d %s %s", st, h.Get("Content-Type"), body)
		}
		for _, bad := range []map[string]string{
			{"uri": "", "name": "x"},
			{"uri": "https://api.example.com/", "name": ""},
			{"uri": "/relative", "name": "x"},
			{"uri": "http://api.example.com/", "name": "x"},
			{"uri": "https://api.example.com/#frag", "name": "x"},
			{"uri": "https://user:pw@api.example.com/", "name": "x"},
			{"uri": "urn:example:api", "name": "x"},
			{"uri": "https://api.example.com/\x00", "name": "x"},
			{"uri": "https://api.example.com/" + strings.Repeat("a", 600), "name": "x"},
			{"uri": "https://api.example.com/", "name": "bad\x07name"},
		} {
			st, h, body := s.postJSON(t, "/admin/resources", bad, bearer(admin)...)
			if st != http.StatusUnprocessableEntity || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("create %q: %d %s, want 422 problem", bad, st, body)
			}
		}
		st, _, body = s.get(t, "/admin/resources", bearer(admin)...)
		var list struct {
			Resources []struct{ ID, URI, Name string }
		}
		decode(t, body, &list)
		if st != http.StatusOK || len(list.Resources) != 2 || list.Resources[0].URI != "https://mcp.example.com/mcp" {
			t.Fatalf("list: %d %s", st, body)
		}
		if st, _, _ := s.get(t, "/admin/resources"); st != http.StatusUnauthorized {
			t.Errorf("list without a token: %d", st)
		}
		user := s.signupLogin(t, "someone@example.com", "a long enough password")
		if st, _, _ := s.get(t, "/admin/resources", bearer(user.Token)...); st != http.StatusForbidden {
			t.Errorf("list as a non-admin: %d", st)
		}
		if st, _, body := do(t, http.MethodDelete, s.Base+"/admin/resources/"+r.ID, "", "", bearer(admin)...); st != http.StatusNoContent {
			t.Fatalf("delete: %d %s", st, body)
		}
		if st, h, _ := do(t, http.MethodDelete, s.Base+"/admin/resources/"+r.ID, "", "", bearer(admin)...); st != http.StatusNotFound || h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("delete again: %d", st)
		}
		db := openDB(t, dbURL)
		if n, d := countEvents(t, db, "resource.created"), countEvents(t, db, "resource.deleted"); n != 2 || d != 1 {
			t.Errorf("audit: %d created, %d deleted events", n, d)
		}
	})
}

// A resource indicator sets the access token's audience to that resource
// alone on every grant; an unregistered one, several, or one the grant
// was not issued for are invalid_target; a token for a resource is
// refused by Sigil's own API and accepted by a resource server verifying
// that audience.
func TestResourceIndicatorsOnEveryGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		const res, other = "https://mcp.example.com/mcp", "https://other.example.com/api"
		for _, uri := range []string{res, other} {
			if st, _, body := f.s.postJSON(t, "/admin/resources", map[string]string{"uri": uri, "name": uri}, bearer(f.admin)...); st != http.StatusCreated {
				t.Fatalf("create resource: %d %s", st, body)
			}
		}

		// client_credentials.
		ccID, ccSecret := f.s.createClient(t, f.admin, map[string]any{"name": "svc", "scopes": []string{"notes.read"}})
		st, h, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "resource": {res}}, basic(ccID, ccSecret)...)
		a := tokenOK(t, "client_credentials with resource", st, h, body)
		verifyAccessToken(t, f.s, a.AccessToken, res)
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "resource": {"https://unknown.example.com/"}}, basic(ccID, ccSecret)...)
		wantOAuthError(t, "client_credentials with an unregistered resource", st, h, body, http.StatusBadRequest, "invalid_target")
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "resource": {res, other}}, basic(ccID, ccSecret)...)
		wantOAuthError(t, "client_credentials with two resources", st, h, body, http.StatusBadRequest, "invalid_target")

		// Authorization code, the way an OAuth library does it.
		b := f.signedIn(t)
		conf := &oauth2.Config{ClientID: f.pubID, RedirectURL: f.redirect, Scopes: []string{"openid", "offline_access"},
			Endpoint: oauth2.Endpoint{AuthURL: f.iss + "/oauth2/authorize", TokenURL: f.iss + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
		verifier := oauth2.GenerateVerifier()
		p := b.get(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", res)))
		q := p.Location().Query()
		if p.Status != http.StatusFound || q.Get("code") == "" || q.Get("iss") != f.iss || q.Get("state") != "st-1" {
			t.Fatalf("authorize with resource: %d %s", p.Status, p.Header.Get("Location"))
		}
		tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", res))
		if err != nil {
			t.Fatalf("exchange with resource: %v", err)
		}
		verifyAccessToken(t, f.s, tok.AccessToken, res)
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}

		// A resource server configured with that audience accepts it.
		v, err := verify.New(context.Background(), f.iss, verify.WithAudience(res))
		if err != nil {
			t.Fatal(err)
		}
		if c, err := v.Verify(context.Background(), tok.AccessToken); err != nil || c.Subject == "" {
			t.Errorf("verify with audience %s: %v", res, err)
		}
		v2, err := verify.New(context.Background(), f.iss, verify.WithAudience(other))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v2.Verify(context.Background(), tok.AccessToken); err == nil {
			t.Error("a resource server of another audience accepted the token")
		}

		// Sigil's own API refuses a token for a resource, though the
		// same first-party client's token without one is accepted.
		for _, path := range []string{"/auth/me", "/auth/sessions", "/admin/resources"} {
			if st, _, body := f.s.get(t, path, bearer(tok.AccessToken)...); st != http.StatusUnauthorized && st != http.StatusForbidden {
				t.Errorf("%s with a resource's token: %d %s", path, st, body)
			}
		}
		if st, _, body := f.s.get(t, "/oauth2/userinfo", bearer(tok.AccessToken)...); st != http.StatusUnauthorized {
			t.Errorf("userinfo with a resource's token: %d %s", st, body)
		}
		plainCode, plainVerifier := f.code(t, b, url.Values{"scope": {"openid"}})
		st, h, body = f.exchange(t, plainCode, plainVerifier)
		plain := tokenOK(t, "exchange without resource", st, h, body)
		if st, _, body := f.s.get(t, "/auth/me", bearer(plain.AccessToken)...); st != http.StatusOK {
			t.Errorf("/auth/me with the client's own token: %d %s", st, body)
		}
		if st, _, body := f.s.get(t, "/oauth2/userinfo", bearer(plain.AccessToken)...); st != http.StatusOK {
			t.Errorf("userinfo with the client's own token: %d %s", st, body)
		}

		// Refresh keeps the resource, may repeat it, never widens.
		refresh := func(rt string, extra url.Values) (int, http.Header, []byte) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.pubID}}
			for k, v := range extra {
				form[k] = v
			}
			return f.s.postForm(t, "/oauth2/token", form)
		}
		st, h, body = refresh(tok.RefreshToken, nil)
		r1 := tokenOK(t, "refresh without resource", st, h, body)
		verifyAccessToken(t, f.s, r1.AccessToken, res)
		st, h, body = refresh(r1.RefreshToken, url.Values{"resource": {res}})
		r2 := tokenOK(t, "refresh with the same resource", st, h, body)
		verifyAccessToken(t, f.s, r2.AccessToken, res)
		st, h, body = refresh(r2.RefreshToken, url.Values{"resource": {other}})
		wantOAuthError(t, "refresh with another resource", st, h, body, http.StatusBadRequest, "invalid_target")
		st, h, body = refresh(r2.RefreshToken, url.Values{"resource": {res}})
		r3 := tokenOK(t, "refresh after a refused widening (the token was not spent)", st, h, body)
		verifyAccessToken(t, f.s, r3.AccessToken, res)

		// A grant without a resource cannot gain one at the token endpoint.
		code, verifier2 := f.code(t, b, url.Values{"scope": {"openid offline_access"}})
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {f.redirect}, "code_verifier": {verifier2}, "client_id": {f.pubID}, "resource": {res}})
		wantOAuthError(t, "exchange with a resource the authorization request did not name", st, h, body, http.StatusBadRequest, "invalid_target")

		// On authorize: unregistered or several resources go back to the
		// client as invalid_target, with state and iss.
		f.wantRedirectError(t, "authorize with an unregistered resource", b.get(f.authorizeURL(f.pubID, url.Values{
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}, "resource": {"https://unknown.example.com/"}})), "invalid_target")
		f.wantRedirectError(t, "authorize with two resources", b.get(f.authorizeURL(f.pubID, url.Values{
			"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}, "resource": {res, other}})), "invalid_target")

		// A deleted resource gets no more tokens, refresh included.
		_, _, body = f.s.get(t, "/admin/resources", bearer(f.admin)...)
		var list struct{ Resources []struct{ ID, URI string } }
		decode(t, body, &list)
		for _, r := range list.Resources {
			if r.URI == res {
				do(t, http.MethodDelete, f.s.Base+"/admin/resources/"+r.ID, "", "", bearer(f.admin)...)
			}
		}
		st, h, body = refresh(r3.RefreshToken, nil)
		wantOAuthError(t, "refresh for a deleted resource", st, h, body, http.StatusBadRequest, "invalid_target")
	})
}

// A loopback redirect URI registered without a port matches any port
// (RFC 8252 §7.3), for 127.0.0.1 and [::1] only; path and query still
// match exactly.
func TestLoopbackRedirectURIsMatchAnyPort(t *testing.T) {
	f := newOIDCFixture(t, storetest.SQLiteURL(t), nil)
	id, _ := f.s.oidcClient(t, f.admin, map[string]any{"name": "CLI", "public": true, "firstParty": true,
		"redirectUris": []string{"http://127.0.0.1/cb", "http://[::1]/cb?x=1", "http://localhost/cb"}})
	b := f.signedIn(t)
	verifier := oauth2.GenerateVerifier()
	authorize := func(redirect string) page {
		return b.get(f.iss + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {redirect},
			"scope": {"openid"}, "state": {"st-1"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}.Encode())
	}
	for _, redirect := range []string{"http://127.0.0.1:49152/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb?x=1"} {
		p := authorize(redirect)
		loc := p.Location()
		want, _ := url.Parse(redirect)
		if p.Status != http.StatusFound || loc.Host != want.Host || loc.Path != want.Path || loc.Query().Get("code") == "" ||
			(want.RawQuery != "" && loc.Query().Get("x") != "1") {
			t.Fatalf("authorize %s: %d %s", redirect, p.Status, loc)
		}
		st, h, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {redirect}, "code_verifier": {verifier}, "client_id": {id}})
		tokenOK(t, "exchange for "+redirect, st, h, body)
	}
	for _, redirect := range []string{
		"http://127.0.0.1:49152/cb2", "http://127.0.0.1:49152/cb?y=1", "http://127.0.0.1:49152/cb/", "http://127.0.0.1:049152/cb",
		"http://127.0.0.1:0/cb", "http://127.0.0.1:99999/cb", "http://127.0.0.1:/cb", "http://[::1]:8080/cb", "http://localhost:8080/cb",
		"https://127.0.0.1:8443/cb", "http://127.0.0.1:8080@evil.example/cb", "http://127.0.0.1:80.evil.example/cb",
	} {
		wantErrorPage(t, "authorize "+redirect, authorize(redirect))
	}
}

// sigil resources create|list|delete, and the token endpoint honours
// what the CLI registered.
func TestResourcesCommand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := adminEnv(dbURL, nil)
		if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
			t.Fatal(err)
		}
		const res = "https://notes.example.com/mcp"
		out, _, err := runCLI(t, env, "", "resources", "create", "--uri", res, "--name", "Notes")
		if err != nil {
			t.Fatal(err)
		}
		var id string
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(line, "id:"); ok {
				id = strings.TrimSpace(v)
			}
		}
		if id == "" || !strings.Contains(out, res) {
			t.Fatalf("create output %q", out)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"resources", "create", "--uri", res, "--name", "again"}, "already registered"},
			{[]string{"resources", "create", "--uri", "http://notes.example.com/", "--name", "n"}, "--uri"},
			{[]string{"resources", "create", "--uri", "https://x.example.com/"}, "--name"},
			{[]string{"resources", "delete"}, ""},
			{[]string{"resources", "delete", "no-such-id"}, "no resource"},
			{[]string{"resources", "frobnicate"}, ""},
		} {
			if _, _, err := runCLI(t, env, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
			}
		}
		out, _, err = runCLI(t, env, "", "resources", "list")
		if err != nil || !strings.Contains(out, id) || !strings.Contains(out, res) || !strings.Contains(out, "Notes") {
			t.Fatalf("list: %v\n%s", err, out)
		}

		s := startServer(t, env)
		admin := s.adminToken(t)
		cid, secret := s.createClient(t, admin, map[string]any{"name": "agent"})
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "resource": {res}}, basic(cid, secret)...)
		verifyAccessToken(t, s, tokenOK(t, "token for the CLI's resource", st, h, b).AccessToken, res)
		s.stop()

		if out, _, err := runCLI(t, env, "", "resources", "delete", id); err != nil || !strings.Contains(out, "deleted resource "+id) {
			t.Fatalf("delete: %v %s", err, out)
		}
	})
}

// The resource of an authorization request survives the sign-in page
// and the consent page, which names it; a request without scope gets the
// client's registered scopes.
func TestResourceThroughSignInAndConsent(t *testing.T) {
	f := newOIDCFixture(t, storetest.SQLiteURL(t), nil)
	const res = "https://notes.example.com/mcp"
	if st, _, body := f.s.postJSON(t, "/admin/resources", map[string]string{"uri": res, "name": "Notes"}, bearer(f.admin)...); st != http.StatusCreated {
		t.Fatalf("create resource: %d %s", st, body)
	}
	id, secret := f.s.oidcClient(t, f.admin, map[string]any{"name": "Agent", "redirectUris": []string{f.redirect}, "scopes": []string{"notes.read"}})
	verifier := oauth2.GenerateVerifier()
	b := newBrowserless(t, f.iss)
	login := b.get(f.authorizeURL(id, url.Values{"scope": {""}, "nonce": {""}, "resource": {res},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}))
	consent := b.signIn(login, userEmail, userPassword)
	if consent.Status != http.StatusOK || !strings.Contains(consent.Body, `value="allow"`) || !strings.Contains(consent.Body, "notes.read") {
		t.Fatalf("after sign-in: %d %s\n%.400s", consent.Status, consent.Header.Get("Location"), consent.Body)
	}
	if !strings.Contains(consent.Body, "<strong>Notes</strong>") || !strings.Contains(consent.Body, res) {
		t.Errorf("the consent page does not name the resource:\n%s", consent.Body)
	}
	form := hidden(consent)
	form.Set("consent", "allow")
	p := b.post(f.iss+"/consent", form)
	code := p.Location().Query().Get("code")
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther || code == "" {
		t.Fatalf("consent: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	st, h, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirect}, "code_verifier": {verifier}, "resource": {res}}, basic(id, secret)...)
	a := tokenOK(t, "exchange", st, h, body)
	if c := verifyAccessToken(t, f.s, a.AccessToken, res); c.Scope != "notes.read" || a.Scope != "notes.read" {
		t.Errorf("scope %q (answer %q), want the client's registered notes.read", c.Scope, a.Scope)
	}
	var ans map[string]any
	decode(t, body, &ans)
	if _, ok := ans["id_token"]; ok {
		t.Error("an ID token without openid")
	}
}
