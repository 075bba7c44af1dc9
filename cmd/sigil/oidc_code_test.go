package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

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
