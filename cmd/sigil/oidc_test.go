package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// oidcFixture is a server with a user and clients of the browser flow,
// driven without a browser (a cookie jar that does not follow redirects).
type oidcFixture struct {
	s        *server
	iss      string
	admin    string
	redirect string
	// conf is a third-party confidential client; pub a first-party
	// public client.
	confID, confSecret string
	pubID              string
}

const (
	userEmail    = "grace@example.com"
	userPassword = "a long enough password"
)

func newOIDCFixture(t *testing.T, dbURL string, extra map[string]string) *oidcFixture {
	t.Helper()
	env := browserEnv(t, dbURL, extra)
	return newOIDCFixtureEnv(t, env, startServer(t, env))
}

func newOIDCFixtureEnv(t *testing.T, env map[string]string, s *server) *oidcFixture {
	t.Helper()
	f := &oidcFixture{s: s, iss: env["SIGIL_ISSUER"], redirect: "http://127.0.0.1:9/callback"}
	f.admin = s.adminToken(t)
	f.confID, f.confSecret = s.oidcClient(t, f.admin, map[string]any{"name": "Wiki", "redirectUris": []string{f.redirect},
		"postLogoutRedirectUris": []string{"http://127.0.0.1:9/bye"}})
	f.pubID, _ = s.oidcClient(t, f.admin, map[string]any{"name": "App", "public": true, "firstParty": true,
		"redirectUris": []string{f.redirect, "com.example.app:/cb"}})
	st, _, body := s.postJSON(t, "/auth/signup", map[string]string{"email": userEmail, "password": userPassword, "name": "Grace"})
	if st != http.StatusCreated {
		t.Fatalf("signup: %d %s", st, body)
	}
	return f
}

func (f *oidcFixture) authorizeURL(clientID string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {f.redirect},
		"scope": {"openid email"}, "state": {"st-1"}, "nonce": {"n-1"}}
	for k, v := range extra {
		if v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return f.iss + "/oauth2/authorize?" + q.Encode()
}

// wantRedirectError checks an error sent back to the client with state
// and iss.
func (f *oidcFixture) wantRedirectError(t *testing.T, what string, p page, code string) {
	t.Helper()
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		t.Errorf("%s: %d, want a redirect with error=%s\n%.300s", what, p.Status, code, p.Body)
		return
	}
	loc := p.Location()
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), f.redirect) || q.Get("error") != code || q.Get("error_description") == "" ||
		q.Get("state") != "st-1" || q.Get("iss") != f.iss || q.Has("code") {
		t.Errorf("%s: redirect %s, want error=%s with state and iss", what, loc, code)
	}
}

// wantErrorPage checks a 400 error page that does not redirect.
func wantErrorPage(t *testing.T, what string, p page) {
	t.Helper()
	if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" || !strings.Contains(p.Body, `role="alert"`) ||
		!strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: %d Location=%q, want a 400 error page\n%.300s", what, p.Status, p.Header.Get("Location"), p.Body)
	}
}

// signedIn returns a cookie jar client signed in as the fixture's user.
func (f *oidcFixture) signedIn(t *testing.T) *browserless {
	t.Helper()
	b := newBrowserless(t, f.iss)
	p := b.signIn(b.get(f.iss+"/login"), userEmail, userPassword)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account" {
		t.Fatalf("sign in: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return b
}

// code runs the flow for the public client with a PKCE challenge and
// returns the code and its verifier.
func (f *oidcFixture) code(t *testing.T, b *browserless, extra url.Values) (string, string) {
	t.Helper()
	verifier, challenge := pkce()
	q := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	p := b.get(f.authorizeURL(f.pubID, q))
	code := p.Location().Query().Get("code")
	if p.Status != http.StatusFound || code == "" || p.Location().Query().Get("iss") != f.iss || p.Location().Query().Get("state") != "st-1" {
		t.Fatalf("authorize: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return code, verifier
}

func (f *oidcFixture) exchange(t *testing.T, code, verifier string) (int, http.Header, []byte) {
	t.Helper()
	return f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {f.pubID}})
}

type codeAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

// Every error path of the authorization endpoint: an untrusted client or
// redirect URI gets a page and is never redirected to; every other error
// goes back to the client with error, state and iss.
func TestAuthorizeErrorPaths(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := newBrowserless(t, f.iss)
		_, challenge := pkce()
		s256 := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		with := func(kv ...string) url.Values {
			v := url.Values{}
			for k, vs := range s256 {
				v[k] = vs
			}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		wantErrorPage(t, "unknown client", b.get(f.authorizeURL("no-such-client", s256)))
		wantErrorPage(t, "unregistered redirect URI", b.get(f.authorizeURL(f.pubID, with("redirect_uri", "http://127.0.0.1:9/evil"))))
		wantErrorPage(t, "redirect URI differing in case", b.get(f.authorizeURL(f.pubID, with("redirect_uri", "http://127.0.0.1:9/Callback"))))
		wantErrorPage(t, "missing redirect URI", b.get(f.authorizeURL(f.pubID, with("redirect_uri", ""))))
		wantErrorPage(t, "missing client_id", b.get(f.iss+"/oauth2/authorize?response_type=code&redirect_uri="+url.QueryEscape(f.redirect)))
		wantErrorPage(t, "repeated redirect_uri", b.get(f.authorizeURL(f.pubID, s256)+"&redirect_uri="+url.QueryEscape(f.redirect)))

		f.wantRedirectError(t, "public client without PKCE", b.get(f.authorizeURL(f.pubID, nil)), "invalid_request")
		f.wantRedirectError(t, "PKCE plain", b.get(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}})), "invalid_request")
		f.wantRedirectError(t, "challenge without method", b.get(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}})), "invalid_request")
		f.wantRedirectError(t, "short challenge", b.get(f.authorizeURL(f.pubID, with("code_challenge", "abc"))), "invalid_request")
		f.wantRedirectError(t, "response_type token", b.get(f.authorizeURL(f.pubID, with("response_type", "token"))), "unsupported_response_type")
		f.wantRedirectError(t, "missing response_type", b.get(f.authorizeURL(f.pubID, with("response_type", ""))), "invalid_request")
		f.wantRedirectError(t, "response_mode fragment", b.get(f.authorizeURL(f.pubID, with("response_mode", "fragment"))), "invalid_request")
		f.wantRedirectError(t, "scope not allowed", b.get(f.authorizeURL(f.pubID, with("scope", "openid admin:everything"))), "invalid_scope")
		f.wantRedirectError(t, "prompt none and login", b.get(f.authorizeURL(f.pubID, with("prompt", "none login"))), "invalid_request")
		f.wantRedirectError(t, "unknown prompt", b.get(f.authorizeURL(f.pubID, with("prompt", "select_account"))), "invalid_request")
		f.wantRedirectError(t, "negative max_age", b.get(f.authorizeURL(f.pubID, with("max_age", "-1"))), "invalid_request")
		f.wantRedirectError(t, "request object", b.get(f.authorizeURL(f.pubID, with("request", "eyJ.x.y"))), "request_not_supported")
		f.wantRedirectError(t, "repeated scope", b.get(f.authorizeURL(f.pubID, s256)+"&scope=openid"), "invalid_request")
		f.wantRedirectError(t, "prompt=none without a session", b.get(f.authorizeURL(f.pubID, with("prompt", "none"))), "login_required")

		// A client_credentials-only client cannot start the flow: it has no
		// redirect URIs, so the request is refused on a page.
		ccID, _ := f.s.createClient(t, f.admin, map[string]any{"name": "batch", "audience": "api"})
		wantErrorPage(t, "client without the flow", b.get(f.authorizeURL(ccID, s256)))

		// The private-use scheme of a native app is a valid redirect.
		p := b.get(f.authorizeURL(f.pubID, with("redirect_uri", "com.example.app:/cb")))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) {
			t.Errorf("native redirect URI: %d %.200s", p.Status, p.Body)
		}
	})
}

// The token endpoint's authorization_code grant: a correct exchange, then
// every way of presenting a code wrongly, including a replay, which also
// revokes what the first redemption issued.
func TestCodeExchange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := f.signedIn(t)

		code, verifier := f.code(t, b, url.Values{"scope": {"openid email profile offline_access"}})
		st, h, body := f.exchange(t, code, verifier)
		if st != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("exchange: %d %s", st, body)
		}
		var ans codeAnswer
		decode(t, body, &ans)
		if ans.TokenType != "Bearer" || ans.IDToken == "" || ans.RefreshToken == "" || ans.Scope != "email offline_access openid profile" || ans.ExpiresIn <= 0 {
			t.Fatalf("token answer %s", body)
		}
		if typ := tokenHeader(t, ans.IDToken)["typ"]; typ != "JWT" {
			t.Errorf("ID token typ %v", typ)
		}
		idc := verifyWithJWKS(t, f.s, ans.IDToken)
		if idc["aud"] != f.pubID || idc["nonce"] != "n-1" || idc["email"] != userEmail || idc["name"] != "Grace" || idc["sid"] == nil || idc["at_hash"] == nil {
			t.Errorf("ID token claims %v", idc)
		}
		// A client registered without an audience: its own id.
		at := verifyAccessToken(t, f.s, ans.AccessToken, f.pubID)
		if at.ClientID != f.pubID || !slices.Equal(at.AMR, []string{"pwd"}) || at.Email != userEmail {
			t.Errorf("access token %+v", at)
		}
		// An ID token is never accepted as an access token.
		if st, _, _ := f.s.get(t, "/auth/me", bearer(ans.IDToken)...); st != http.StatusUnauthorized {
			t.Errorf("ID token as a Bearer token: %d", st)
		}
		// The refresh token rotates for its own client only.
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ans.RefreshToken}, "client_id": {f.confID}, "client_secret": {f.confSecret}})
		wantOAuthError(t, "refresh by another client", st, h, body, 400, "invalid_grant")
		st, _, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ans.RefreshToken}, "client_id": {f.pubID}})
		var refreshed codeAnswer
		decode(t, body, &refreshed)
		if st != http.StatusOK || refreshed.RefreshToken == "" || refreshed.RefreshToken == ans.RefreshToken {
			t.Fatalf("refresh: %d %s", st, body)
		}

		// Replay: refused, and the first redemption's tokens are revoked.
		st, h, body = f.exchange(t, code, verifier)
		wantOAuthError(t, "code replay", st, h, body, 400, "invalid_grant")
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed.RefreshToken}, "client_id": {f.pubID}})
		wantOAuthError(t, "refresh after the code was replayed", st, h, body, 400, "invalid_grant")
		if st, h, _ := f.s.get(t, "/oauth2/userinfo", bearer(ans.AccessToken)...); st != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("access token of a replayed code: userinfo %d %q", st, h.Get("WWW-Authenticate"))
		}

		code, verifier = f.code(t, b, nil)
		st, h, body = f.exchange(t, code, "wrong-verifier-wrong-verifier-wrong-verifier-00")
		wantOAuthError(t, "wrong verifier", st, h, body, 400, "invalid_grant")
		st, h, body = f.exchange(t, code, verifier)
		wantOAuthError(t, "a code spent by a failed attempt", st, h, body, 400, "invalid_grant")

		code, _ = f.code(t, b, nil)
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect}, "client_id": {f.pubID}})
		wantOAuthError(t, "missing verifier", st, h, body, 400, "invalid_grant")

		code, verifier = f.code(t, b, nil)
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:9/other"}, "code_verifier": {verifier}, "client_id": {f.pubID}})
		wantOAuthError(t, "other redirect_uri", st, h, body, 400, "invalid_grant")

		code, verifier = f.code(t, b, nil)
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {verifier}}, basic(f.confID, f.confSecret)...)
		wantOAuthError(t, "another client's code", st, h, body, 400, "invalid_grant")

		code, verifier = f.code(t, b, nil)
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {f.confID}})
		wantOAuthError(t, "confidential client without its secret", st, h, body, 401, "invalid_client")
		st, h, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {f.pubID}, "client_secret": {"guess"}})
		wantOAuthError(t, "public client with a secret", st, h, body, 401, "invalid_client")

		// The codes are stored hashed: no code appears in the database.
		if n := countRowsWhere(t, dbURL, "authorization_codes", "code_hash = '"+code+"'"); n != 0 {
			t.Error("an authorization code is stored in clear")
		}
	})
}

// A code is valid for 60 seconds.
func TestCodeExpires(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	f := newOIDCFixtureEnv(t, env, startServerClock(t, env, now))
	b := f.signedIn(t)
	code, verifier := f.code(t, b, nil)
	offset.Store(int64(61 * time.Second))
	st, h, body := f.exchange(t, code, verifier)
	wantOAuthError(t, "expired code", st, h, body, 400, "invalid_grant")
	if !strings.Contains(string(body), "expired") {
		t.Errorf("expired code: %s", body)
	}
}

// prompt=login and max_age ask for a fresh sign-in; the session keeps its
// id (the sid every client sees) and gets a new auth_time.
func TestPromptLoginAndMaxAge(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	env := browserEnv(t, storetest.SQLiteURL(t), nil)
	f := newOIDCFixtureEnv(t, env, startServerClock(t, env, now))
	b := f.signedIn(t)
	idClaims := func(code, verifier string) map[string]any {
		st, _, body := f.exchange(t, code, verifier)
		if st != http.StatusOK {
			t.Fatalf("exchange: %d %s", st, body)
		}
		var a codeAnswer
		decode(t, body, &a)
		return verifyWithJWKS(t, f.s, a.IDToken)
	}
	first := idClaims(f.code(t, b, nil))

	offset.Store(int64(10 * time.Minute))
	_, challenge := pkce()
	for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"300"}}} {
		extra.Set("code_challenge", challenge)
		extra.Set("code_challenge_method", "S256")
		p := b.get(f.authorizeURL(f.pubID, extra))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="`+userEmail+`"`) {
			t.Fatalf("%v: %d, want the sign-in page with the email filled in\n%.300s", extra, p.Status, p.Body)
		}
	}
	// max_age large enough: a code at once.
	code, verifier := f.code(t, b, url.Values{"max_age": {"3600"}})
	if c := idClaims(code, verifier); c["auth_time"] != first["auth_time"] {
		t.Errorf("max_age satisfied changed auth_time")
	}
	// prompt=none with max_age exceeded: login_required.
	f.wantRedirectError(t, "prompt=none past max_age", b.get(f.authorizeURL(f.pubID, url.Values{"prompt": {"none"}, "max_age": {"60"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}})), "login_required")

	// Signing in again through prompt=login keeps the session.
	verifier, challenge = pkce()
	login := b.get(f.authorizeURL(f.pubID, url.Values{"prompt": {"login"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	p := b.signIn(login, userEmail, userPassword)
	code = p.Location().Query().Get("code")
	if p.Status != http.StatusSeeOther || code == "" {
		t.Fatalf("sign in again: %d %s\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
	}
	again := idClaims(code, verifier)
	if again["sid"] != first["sid"] || again["auth_time"].(float64) <= first["auth_time"].(float64) {
		t.Errorf("re-authentication: sid %v→%v auth_time %v→%v", first["sid"], again["sid"], first["auth_time"], again["auth_time"])
	}
}

// Consent: a third-party client's request shows the consent page; denying
// sends access_denied; allowing is remembered for the same scopes and asked
// again for new ones or prompt=consent.
func TestConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := f.signedIn(t)
		p := b.get(f.authorizeURL(f.confID, withPKCE(nil)))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="consent" value="allow"`) || !strings.Contains(p.Body, `name="consent" value="deny"`) {
			t.Fatalf("consent page: %d\n%.400s", p.Status, p.Body)
		}
		form := hidden(p)
		form.Set("consent", "deny")
		f.wantRedirectError(t, "consent denied", b.post(f.iss+"/consent", form), "access_denied")
		// prompt=none still needs consent.
		f.wantRedirectError(t, "prompt=none without consent", b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"prompt": {"none"}}))), "consent_required")

		p = b.get(f.authorizeURL(f.confID, withPKCE(nil)))
		form = hidden(p)
		form.Set("consent", "allow")
		p = b.post(f.iss+"/consent", form)
		if p.Status != http.StatusSeeOther || p.Location().Query().Get("code") == "" {
			t.Fatalf("consent allowed: %d %s", p.Status, p.Header.Get("Location"))
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(nil))); p.Status != http.StatusFound || p.Location().Query().Get("code") == "" {
			t.Errorf("remembered consent: %d", p.Status)
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"scope": {"openid email profile"}}))); p.Status != http.StatusOK || !strings.Contains(p.Body, "profile") {
			t.Errorf("a new scope must ask again: %d", p.Status)
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"prompt": {"consent"}}))); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="allow"`) {
			t.Errorf("prompt=consent must ask again: %d", p.Status)
		}
		// A consent post without its CSRF token changes nothing.
		form.Del("csrf_token")
		if p := b.post(f.iss+"/consent", form); p.Status != http.StatusForbidden {
			t.Errorf("consent without CSRF token: %d", p.Status)
		}

		// The account page lists the consent and takes it back.
		acct := b.get(f.iss + "/account")
		if !strings.Contains(acct.Body, "Wiki") || !strings.Contains(acct.Body, "email, openid") {
			t.Fatalf("account page does not list the consent:\n%.2000s", acct.Body)
		}
		revoke := url.Values{"client_id": {f.confID}}
		if p := b.post(f.iss+"/account/consents/revoke", revoke); p.Status != http.StatusForbidden {
			t.Errorf("revoke without CSRF token: %d", p.Status)
		}
		revoke.Set("csrf_token", hidden(acct).Get("csrf_token"))
		if p := b.post(f.iss+"/account/consents/revoke", revoke); p.Status != http.StatusSeeOther {
			t.Errorf("revoke consent: %d", p.Status)
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(nil))); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="allow"`) {
			t.Errorf("after revoking, consent must be asked again: %d", p.Status)
		}
	})
}

// Garbage posted to every form of the hosted pages gets a page with a
// 4xx status, never a 500, and writes nothing.
func TestHostilePageForms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, map[string]string{"SIGIL_RATE_LIMIT": "1/s"})
		b := newBrowserless(t, f.iss)
		csrf := hidden(b.get(f.iss + "/login")).Get("csrf_token")
		huge := strings.Repeat("A", 60<<10)
		bodies := []url.Values{
			{"csrf_token": {csrf}},
			{"csrf_token": {csrf}, "authz": {"%zz"}},
			{"csrf_token": {csrf}, "authz": {huge}},
			{"csrf_token": {csrf}, "authz": {"client_id=\x00&redirect_uri=\xff"}},
			{"csrf_token": {csrf}, "email": {"\x00"}, "password": {huge}},
			{"csrf_token": {csrf}, "email": {"' OR 1=1 --"}, "password": {"x"}, "name": {"\u202e"}},
			{"csrf_token": {csrf}, "consent": {"maybe"}, "authz": {"client_id=" + f.confID}},
			{"csrf_token": {csrf}, "client_id": {"\x00"}, "id_token_hint": {"a.b.c"}},
			{"csrf_token": {csrf, csrf}},
		}
		before := countRowsWhere(t, dbURL, "users", "1=1")
		for _, path := range []string{"/login", "/signup", "/consent", "/account/consents/revoke", "/oauth2/logout", "/oauth2/authorize"} {
			for _, body := range bodies {
				p := b.post(f.iss+path, body)
				if p.Status >= 500 || (p.Status >= 200 && p.Status < 300 && path != "/oauth2/logout") && !strings.Contains(p.Body, `role="alert"`) {
					t.Errorf("POST %s %.80v: %d\n%.300s", path, body, p.Status, p.Body)
				}
			}
		}
		if n := countRowsWhere(t, dbURL, "users", "1=1"); n != before {
			t.Errorf("hostile page posts created %d users", n-before)
		}
		// The sign-in page shares the per-client rate limit (1/s here,
		// burst 2): a burst of posts is refused with 429 and Retry-After.
		login := b.get(f.iss + "/login")
		var limited bool
		for i := 0; i < 5 && !limited; i++ {
			p := b.signIn(login, "nobody@example.com", "whatever pw")
			limited = p.Status == http.StatusTooManyRequests && p.Header.Get("Retry-After") != ""
		}
		if !limited {
			t.Error("the sign-in page is not rate limited")
		}
	})
}

// Every form of the hosted pages refuses a post without its CSRF token,
// or from another origin, before changing anything; every page sends the
// security headers.
func TestHostedPagesCSRFAndHeaders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := newBrowserless(t, f.iss)
		login := b.get(f.iss + "/login")
		for _, p := range []page{login, b.get(f.iss + "/signup"), b.get(f.authorizeURL(f.confID, withPKCE(nil))), b.get(f.iss + "/oauth2/logout"),
			b.get(f.authorizeURL("nobody", nil))} {
			csp := p.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") ||
				p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("Referrer-Policy") != "no-referrer" || p.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("page headers: CSP %q XFO %q", csp, p.Header.Get("X-Frame-Options"))
			}
		}
		if c := login.Header.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
			t.Errorf("CSRF cookie %q", c)
		}

		before := countRowsWhere(t, dbURL, "browser_sessions", "1=1")
		form := hidden(login)
		form.Set("email", userEmail)
		form.Set("password", userPassword)
		noToken := url.Values{"email": {userEmail}, "password": {userPassword}}
		if p := b.post(f.iss+"/login", noToken); p.Status != http.StatusForbidden || !strings.Contains(p.Body, `role="alert"`) {
			t.Errorf("login without CSRF token: %d", p.Status)
		}
		wrong := url.Values{"email": {userEmail}, "password": {userPassword}, "csrf_token": {strings.Repeat("A", 43)}}
		if p := b.post(f.iss+"/login", wrong); p.Status != http.StatusForbidden {
			t.Errorf("login with another CSRF token: %d", p.Status)
		}
		cross := newBrowserless(t, "http://evil.example")
		cross.c.Jar = b.c.Jar
		if p := cross.post(f.iss+"/login", form); p.Status != http.StatusForbidden {
			t.Errorf("login posted from another origin: %d", p.Status)
		}
		if p := b.post(f.iss+"/signup", url.Values{"email": {"x@example.com"}, "password": {"long enough pw"}}); p.Status != http.StatusForbidden {
			t.Errorf("signup without CSRF token: %d", p.Status)
		}
		if n := countRowsWhere(t, dbURL, "browser_sessions", "1=1"); n != before {
			t.Errorf("refused posts created %d sessions", n-before)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'x@example.com'"); n != 0 {
			t.Error("a refused signup created the account")
		}
		// With the token, the same form signs in.
		if p := b.post(f.iss+"/login", form); p.Status != http.StatusSeeOther {
			t.Errorf("login with the token: %d", p.Status)
		}
		// A logout post with a wrong CSRF token changes nothing.
		if p := b.post(f.iss+"/oauth2/logout", url.Values{"csrf_token": {strings.Repeat("B", 43)}}); p.Status != http.StatusForbidden {
			t.Errorf("logout with a wrong CSRF token: %d", p.Status)
		}
		if p := b.get(f.iss + "/account"); p.Status != http.StatusOK || !strings.Contains(p.Body, userEmail) {
			t.Errorf("account after a refused logout: %d", p.Status)
		}
	})
}

// The sign-in page gives one answer for an unknown email and a wrong
// password, and locks an account after the lockout threshold like
// /auth/login, with a 429 and Retry-After.
func TestHostedLoginFailuresAndLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := newBrowserless(t, f.iss)
		login := b.get(f.iss + "/login")
		unknown := b.signIn(login, "nobody@example.com", userPassword)
		wrong := b.signIn(login, userEmail, "wrong password!")
		alert := func(p page) string {
			i := strings.Index(p.Body, `role="alert">`)
			if i < 0 {
				return ""
			}
			return p.Body[i : i+strings.Index(p.Body[i:], "<")]
		}
		if unknown.Status != http.StatusUnauthorized || wrong.Status != http.StatusUnauthorized || alert(unknown) == "" || alert(unknown) != alert(wrong) {
			t.Errorf("unknown email %d %q, wrong password %d %q: want the same 401 message", unknown.Status, alert(unknown), wrong.Status, alert(wrong))
		}
		for i := 0; i < 4; i++ {
			b.signIn(login, userEmail, "wrong password!")
		}
		locked := b.signIn(login, userEmail, userPassword)
		if locked.Status != http.StatusTooManyRequests || locked.Header.Get("Retry-After") == "" || alert(locked) == "" {
			t.Errorf("locked account: %d Retry-After %q alert %q", locked.Status, locked.Header.Get("Retry-After"), alert(locked))
		}
		// The REST login agrees: the lockout is the account's.
		if st, _, _ := f.s.postJSON(t, "/auth/login", map[string]string{"email": userEmail, "password": userPassword}); st != http.StatusTooManyRequests {
			t.Errorf("REST login of a locked account: %d", st)
		}
	})
}

// RP-initiated logout without an id_token_hint asks for confirmation; the
// confirmation signs out and returns to a registered URI; an unregistered
// URI is never redirected to.
func TestLogoutConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := f.signedIn(t)
		wantErrorPage(t, "unregistered post-logout URI", b.get(f.iss+"/oauth2/logout?"+url.Values{"client_id": {f.confID}, "post_logout_redirect_uri": {"http://127.0.0.1:9/evil"}}.Encode()))
		wantErrorPage(t, "post-logout URI without a client", b.get(f.iss+"/oauth2/logout?"+url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}}.Encode()))
		wantErrorPage(t, "forged id_token_hint", b.get(f.iss+"/oauth2/logout?id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."))

		p := b.get(f.iss + "/oauth2/logout?" + url.Values{"client_id": {f.confID}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s9"}}.Encode())
		if p.Status != http.StatusOK || strings.Count(p.Body, `type="submit"`) != 1 {
			t.Fatalf("confirmation page: %d\n%.300s", p.Status, p.Body)
		}
		if b.get(f.iss+"/account").Status != http.StatusOK {
			t.Fatal("showing the confirmation page signed out")
		}
		done := b.post(f.iss+"/oauth2/logout", hidden(p))
		if done.Status != http.StatusSeeOther || done.Header.Get("Location") != "http://127.0.0.1:9/bye?state=s9" {
			t.Fatalf("confirmed logout: %d %s", done.Status, done.Header.Get("Location"))
		}
		if p := b.get(f.iss + "/account"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
			t.Errorf("account after logout: %d %s", p.Status, p.Header.Get("Location"))
		}
		if n := countRowsWhere(t, dbURL, "browser_sessions", "revoked_at IS NULL"); n != 0 {
			t.Errorf("%d live sessions after logout", n)
		}
	})
}

// Discovery advertises what the server does, and nothing else.
func TestDiscoveryOpenIDProvider(t *testing.T) {
	f := newOIDCFixture(t, storetest.SQLiteURL(t), nil)
	_, _, body := f.s.get(t, "/.well-known/openid-configuration")
	var d map[string]any
	decode(t, body, &d)
	want := map[string]any{
		"issuer": f.iss, "authorization_endpoint": f.iss + "/oauth2/authorize", "userinfo_endpoint": f.iss + "/oauth2/userinfo",
		"end_session_endpoint": f.iss + "/oauth2/logout", "authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	list := func(k string) []string {
		var out []string
		b, _ := json.Marshal(d[k])
		json.Unmarshal(b, &out)
		return out
	}
	if got := list("response_types_supported"); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported %v", got)
	}
	if got := list("code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported %v", got)
	}
	for _, sc := range []string{"openid", "profile", "email", "offline_access"} {
		if !slices.Contains(list("scopes_supported"), sc) {
			t.Errorf("scopes_supported lacks %s", sc)
		}
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "amr", "email", "email_verified", "name"} {
		if !slices.Contains(list("claims_supported"), c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if !slices.Contains(list("grant_types_supported"), "authorization_code") || !slices.Equal(list("response_modes_supported"), []string{"query"}) {
		t.Errorf("grant types %v, response modes %v", list("grant_types_supported"), list("response_modes_supported"))
	}
}

// A session made on one instance and a code issued on another work
// across instances sharing one Postgres.
func TestOIDCAcrossInstances(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	env := browserEnv(t, dbURL, nil)
	f := newOIDCFixtureEnv(t, env, startServer(t, env))
	otherEnv := map[string]string{}
	for k, v := range env {
		otherEnv[k] = v
	}
	otherEnv["SIGIL_ADDR"] = freeAddr(t)
	other := startServer(t, otherEnv)

	b := f.signedIn(t) // on the first instance
	// The same browser (cookie) asks the second instance for a code.
	verifier, challenge := pkce()
	second := strings.Replace(f.authorizeURL(f.pubID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}), f.iss, other.Base, 1)
	req, _ := http.NewRequest(http.MethodGet, second, nil)
	issURL, _ := url.Parse(f.iss)
	for _, c := range b.c.Jar.Cookies(issURL) {
		req.AddCookie(c)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" {
		t.Fatalf("authorize on the second instance: %d %s", resp.StatusCode, loc)
	}
	// Redeemed on the first.
	st, _, body := f.exchange(t, code, verifier)
	if st != http.StatusOK {
		t.Fatalf("exchange on the first instance: %d %s", st, body)
	}
	// And replayed on the second: refused.
	st, h, body := other.postForm(t, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {f.redirect}, "code_verifier": {verifier}, "client_id": {f.pubID}})
	wantOAuthError(t, "replay on the other instance", st, h, body, 400, "invalid_grant")
}

// Clients of the browser flow are validated on creation, and public
// clients get no secret.
func TestOIDCClientRegistration(t *testing.T) {
	f := newOIDCFixture(t, storetest.SQLiteURL(t), nil)
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"wildcard", map[string]any{"name": "x", "redirectUris": []string{"https://*.example.com/cb"}}, "redirectUris"},
		{"fragment", map[string]any{"name": "x", "redirectUris": []string{"https://app.example.com/cb#x"}}, "redirectUris"},
		{"http to a public host", map[string]any{"name": "x", "redirectUris": []string{"http://app.example.com/cb"}}, "redirectUris"},
		{"javascript scheme", map[string]any{"name": "x", "redirectUris": []string{"javascript:alert(1)"}}, "redirectUris"},
		{"relative", map[string]any{"name": "x", "redirectUris": []string{"/cb"}}, "redirectUris"},
		{"unknown grant", map[string]any{"name": "x", "grantTypes": []string{"password"}}, "grantTypes"},
		{"public client_credentials", map[string]any{"name": "x", "public": true, "grantTypes": []string{"client_credentials"}}, "grantTypes"},
		{"code without redirect", map[string]any{"name": "x", "grantTypes": []string{"authorization_code"}}, "redirectUris"},
	} {
		st, _, body := f.s.postJSON(t, "/admin/clients", c.body, bearer(f.admin)...)
		var p struct{ Field string }
		json.Unmarshal(body, &p)
		if st != http.StatusUnprocessableEntity || p.Field != c.field {
			t.Errorf("%s: %d %s, want 422 on %s", c.name, st, body, c.field)
		}
	}
	st, _, body := f.s.postJSON(t, "/admin/clients", map[string]any{"name": "spa", "public": true, "redirectUris": []string{"https://app.example.com/cb"}}, bearer(f.admin)...)
	if st != http.StatusCreated || strings.Contains(string(body), "clientSecret") {
		t.Errorf("public client: %d %s", st, body)
	}
	_, _, body = f.s.get(t, "/admin/clients", bearer(f.admin)...)
	if !strings.Contains(string(body), `"grantTypes":["authorization_code","refresh_token"]`) || !strings.Contains(string(body), `"public":true`) {
		t.Errorf("client list %s", body)
	}
	// The CLI registers the same.
	out, _, err := runCLI(t, f.s.config(), "", "clients", "create", "--name", "cli-app", "--public", "--first-party",
		"--redirect-uri", "http://127.0.0.1:8000/cb", "--redirect-uri", "com.example.app:/cb", "--post-logout-redirect-uri", "http://127.0.0.1:8000/")
	if err != nil || !strings.Contains(out, "client_id:") || strings.Contains(out, "client_secret") {
		t.Fatalf("clients create --public: %v %s", err, out)
	}
	out, _, _ = runCLI(t, f.s.config(), "", "clients", "list")
	if !strings.Contains(out, "public,first-party") || !strings.Contains(out, "com.example.app:/cb") {
		t.Errorf("clients list:\n%s", out)
	}
	_, _, err = runCLI(t, f.s.config(), "", "clients", "create", "--name", "bad", "--redirect-uri", "http://example.com/cb")
	if err == nil || !strings.Contains(err.Error(), "--redirect-uri") {
		t.Errorf("CLI with a bad redirect URI: %v", err)
	}
}
