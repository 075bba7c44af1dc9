package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// codeTokens runs the authorization code flow for clientID (secret ""
// for a public client) in b's browser session: PKCE, the consent page
// answered "allow" when it is shown, and the code exchanged.
func (f *oidcFixture) codeTokens(t *testing.T, b *browserless, clientID, secret, scope string) codeAnswer {
	t.Helper()
	verifier, challenge := pkce()
	p := b.get(f.authorizeURL(clientID, url.Values{"scope": {scope}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	if p.Status == http.StatusOK && strings.Contains(p.Body, `value="allow"`) {
		form := hidden(p)
		form.Set("consent", "allow")
		p = b.post(f.iss+"/consent", form)
	}
	code := p.Location().Query().Get("code")
	if code == "" {
		t.Fatalf("authorize %s: %d %s\n%.400s", clientID, p.Status, p.Header.Get("Location"), p.Body)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {verifier}}
	var hdr []string
	if secret == "" {
		form.Set("client_id", clientID)
	} else {
		hdr = basic(clientID, secret)
	}
	st, _, body := f.s.postForm(t, "/oauth2/token", form, hdr...)
	if st != http.StatusOK {
		t.Fatalf("exchange for %s: %d %s", clientID, st, body)
	}
	var a codeAnswer
	decode(t, body, &a)
	return a
}

// wantInsufficientScope checks a 403 with WWW-Authenticate
// error="insufficient_scope" and a problem+json body.
func wantInsufficientScope(t *testing.T, what string, st int, h http.Header, body []byte) {
	t.Helper()
	if st != http.StatusForbidden || !strings.Contains(h.Get("WWW-Authenticate"), `error="insufficient_scope"`) ||
		h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s: %d %q %s, want 403 insufficient_scope", what, st, h.Get("WWW-Authenticate"), body)
	}
}

// A token that a third-party application received when a user signed in
// to it reaches none of Sigil's own API: not the admin API (even for an
// administrator), not the account endpoints (passkeys, sessions, the
// profile). Userinfo still answers it, under OAuth's rules.
func TestThirdPartyTokensStayOutOfSigilsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		rootBrowser := newBrowserless(t, f.iss)
		if p := rootBrowser.signIn(rootBrowser.get(f.iss+"/login"), adminEmail, adminPassword); p.Status != http.StatusSeeOther {
			t.Fatalf("administrator sign-in: %d", p.Status)
		}
		// Even a third-party client registered with many scopes, asked
		// for everything it may have.
		adminTok := f.codeTokens(t, rootBrowser, f.confID, f.confSecret, "openid email offline_access").AccessToken
		userTok := f.codeTokens(t, f.signedIn(t), f.confID, f.confSecret, "openid").AccessToken

		get := func(tok, path string) (int, http.Header, []byte) { return f.s.get(t, path, bearer(tok)...) }
		post := func(tok, path string, body any) (int, http.Header, []byte) {
			return f.s.postJSON(t, path, body, bearer(tok)...)
		}
		st, h, b := get(adminTok, "/admin/users")
		wantInsufficientScope(t, "third-party admin token at /admin/users", st, h, b)
		st, h, b = post(adminTok, "/admin/clients", map[string]any{"name": "Backdoor"})
		wantInsufficientScope(t, "third-party admin token creating a client", st, h, b)
		st, h, b = post(userTok, "/auth/mfa/webauthn/register/begin", map[string]any{"password": userPassword})
		wantInsufficientScope(t, "third-party token starting a passkey registration", st, h, b)
		st, h, b = post(userTok, "/auth/sessions/revoke-all", map[string]any{})
		wantInsufficientScope(t, "third-party token ending every session", st, h, b)
		st, h, b = get(userTok, "/auth/me")
		wantInsufficientScope(t, "third-party token at /auth/me", st, h, b)
		st, h, b = post(userTok, "/auth/mfa/totp", map[string]any{"password": userPassword})
		wantInsufficientScope(t, "third-party token enrolling TOTP", st, h, b)

		// Nothing was created or ended.
		if st, _, b := f.s.get(t, "/admin/clients", bearer(f.admin)...); st != http.StatusOK || strings.Contains(string(b), "Backdoor") {
			t.Errorf("clients after the refused creation: %d %s", st, b)
		}
		if st, _, b := f.s.get(t, "/oauth2/userinfo", bearer(userTok)...); st != http.StatusOK {
			t.Errorf("userinfo with the third-party token: %d %s", st, b)
		}
	})
}

// A client without an audience gets tokens for its own id; Sigil's own
// audience is for first-party clients only; a third-party client's token
// carries email and roles only when its scope asks for them; sigil:admin
// is granted only to a first-party client registered with it, for an
// administrator, and only then reaches the admin API.
func TestClientAudiencesClaimsAndAdminScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		s := f.s

		// Registration rules.
		for name, body := range map[string]map[string]any{
			"third-party client with Sigil's audience":        {"name": "X", "redirectUris": []string{f.redirect}, "audience": "sigil"},
			"third-party client with sigil:admin":             {"name": "X", "redirectUris": []string{f.redirect}, "scopes": []string{"sigil:admin"}},
			"client_credentials client with Sigil's audience": {"name": "X", "audience": "sigil"},
		} {
			if st, _, b := s.postJSON(t, "/admin/clients", body, bearer(f.admin)...); st != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s, want 422", name, st, b)
			}
		}

		// No audience: the client's own id, for both grants.
		machine, machineSecret := s.createClient(t, f.admin, map[string]any{"name": "Machine", "scopes": []string{"jobs"}})
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(machine, machineSecret)...)
		verifyAccessToken(t, s, tokenOK(t, "client_credentials", st, h, b).AccessToken, machine)

		user := f.signedIn(t)
		third := f.codeTokens(t, user, f.confID, f.confSecret, "openid")
		c := verifyAccessToken(t, s, third.AccessToken, f.confID)
		if c.Email != "" || tokenPayload(t, third.AccessToken)["roles"] != nil {
			t.Errorf("third-party token without email/roles scopes carries %q %v", c.Email, tokenPayload(t, third.AccessToken)["roles"])
		}
		withScopes := f.codeTokens(t, user, f.confID, f.confSecret, "openid email roles")
		if c := verifyAccessToken(t, s, withScopes.AccessToken, f.confID); c.Email != userEmail || tokenPayload(t, withScopes.AccessToken)["roles"] == nil {
			t.Errorf("third-party token with scopes email and roles: email %q roles %v", c.Email, tokenPayload(t, withScopes.AccessToken)["roles"])
		}
		// The first-party client keeps Sigil's audience and the user's
		// claims, and reaches the account API.
		first := f.codeTokens(t, user, f.pubID, "", "openid")
		if c := verifyAccessToken(t, s, first.AccessToken, f.pubID); c.Email != userEmail {
			t.Errorf("first-party token email %q", c.Email)
		}
		if st, _, b := s.get(t, "/auth/me", bearer(first.AccessToken)...); st != http.StatusOK {
			t.Errorf("first-party token at /auth/me: %d %s", st, b)
		}

		// The admin API with a client's token needs sigil:admin.
		ops, _ := s.oidcClient(t, f.admin, map[string]any{"name": "Ops portal", "public": true, "firstParty": true,
			"audience": "sigil", "redirectUris": []string{f.redirect}, "scopes": []string{"sigil:admin"}})
		root := newBrowserless(t, f.iss)
		root.signIn(root.get(f.iss+"/login"), adminEmail, adminPassword)
		noScope := f.codeTokens(t, root, ops, "", "openid")
		st, h, b = s.get(t, "/admin/users", bearer(noScope.AccessToken)...)
		wantInsufficientScope(t, "first-party admin token without sigil:admin", st, h, b)
		adminScoped := f.codeTokens(t, root, ops, "", "openid sigil:admin")
		if !slices.Contains(strings.Fields(adminScoped.Scope), "sigil:admin") {
			t.Fatalf("administrator asking sigil:admin got scope %q", adminScoped.Scope)
		}
		if st, _, b := s.get(t, "/admin/users", bearer(adminScoped.AccessToken)...); st != http.StatusOK {
			t.Errorf("first-party admin token with sigil:admin: %d %s", st, b)
		}
		// A user without the admin role asking for it gets a token
		// without it, which the admin API refuses.
		plain := f.codeTokens(t, user, ops, "", "openid sigil:admin")
		if strings.Contains(plain.Scope, "sigil:admin") || strings.Contains(tokenPayload(t, plain.AccessToken)["scope"].(string), "sigil:admin") {
			t.Errorf("non-admin got sigil:admin: %q", plain.Scope)
		}
		if st, _, _ := s.get(t, "/admin/users", bearer(plain.AccessToken)...); st != http.StatusForbidden {
			t.Errorf("non-admin's token at /admin/users: %d", st)
		}
		// REST sign-in tokens keep working at the admin API.
		if st, _, b := s.get(t, "/admin/users", bearer(f.admin)...); st != http.StatusOK {
			t.Errorf("REST admin token: %d %s", st, b)
		}
	})
}

// A role that needs a second factor, granted to a user whose sessions
// began with a password alone, is not carried into new tokens: refresh
// answers 403 mfa-enrollment-required on REST and invalid_grant on
// OAuth, and a code issued to such a session is not exchanged.
func TestMFARequiredRolesAtRefreshAndCodeExchange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, map[string]string{"SIGIL_MFA_REQUIRED_ROLES": "ops"})
		s := f.s
		rest := s.login(t, userEmail, userPassword)
		user := f.signedIn(t)
		offline := f.codeTokens(t, user, f.pubID, "", "openid offline_access")
		if offline.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		verifier, challenge := pkce()
		p := user.get(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
		code := p.Location().Query().Get("code")
		if code == "" {
			t.Fatalf("authorize: %d %s", p.Status, p.Header.Get("Location"))
		}

		if st, _, b := do(t, http.MethodPut, s.Base+"/admin/users/"+rest.UserID+"/roles", "application/json", `{"roles":["ops"]}`, bearer(f.admin)...); st != http.StatusNoContent {
			t.Fatalf("grant ops: %d %s", st, b)
		}

		st, _, b := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": rest.RefreshToken})
		var prob struct{ Type string }
		decode(t, b, &prob)
		if st != http.StatusForbidden || prob.Type != "urn:sigil:problem:mfa-enrollment-required" {
			t.Errorf("REST refresh of a password-only session now holding ops: %d %s", st, b)
		}
		st, h, b := s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {offline.RefreshToken}, "client_id": {f.pubID}})
		wantOAuthError(t, "OAuth refresh of a password-only session now holding ops", st, h, b, http.StatusBadRequest, "invalid_grant")
		st, h, b = f.exchange(t, code, verifier)
		wantOAuthError(t, "code of a password-only session now holding ops", st, h, b, http.StatusBadRequest, "invalid_grant")
		// The browser session's single sign-on asks for a sign-in again
		// rather than issue a code that would be refused.
		_, challenge = pkce()
		p = user.get(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) {
			t.Errorf("authorize for a password-only session now holding ops: %d %s, want the sign-in page", p.Status, p.Header.Get("Location"))
		}
	})
}
