package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// deviceFixture is a server with a user and a public command-line client
// that has the device grant (and refresh tokens).
type deviceFixture struct {
	s        *server
	dbURL    string
	iss      string
	admin    string
	clientID string
	userID   string
}

func newDeviceFixture(t *testing.T, dbURL string, clock func() time.Time) *deviceFixture {
	t.Helper()
	env := browserEnv(t, dbURL, nil)
	f := &deviceFixture{s: startServerClock(t, env, clock), dbURL: dbURL, iss: env["SIGIL_ISSUER"]}
	f.admin = f.s.adminToken(t)
	f.clientID, _ = f.s.oidcClient(t, f.admin, map[string]any{"name": "Acme CLI", "public": true,
		"grantTypes": []string{deviceGrant, "refresh_token"}})
	st, _, body := f.s.postJSON(t, "/auth/signup", map[string]string{"email": userEmail, "password": userPassword, "name": "Grace"})
	if st != http.StatusCreated {
		t.Fatalf("signup: %d %s", st, body)
	}
	var r struct{ UserID string }
	decode(t, body, &r)
	f.userID = r.UserID
	return f
}

// oauth2 is the command-line tool's configuration: golang.org/x/oauth2
// with the endpoints of discovery.
func (f *deviceFixture) oauth2(t *testing.T, scopes ...string) oauth2.Config {
	t.Helper()
	st, _, body := f.s.get(t, "/.well-known/oauth-authorization-server")
	var md struct {
		Token  string `json:"token_endpoint"`
		Device string `json:"device_authorization_endpoint"`
	}
	decode(t, body, &md)
	if st != http.StatusOK || md.Device != f.iss+"/oauth2/device_authorization" {
		t.Fatalf("metadata: %d %s", st, body)
	}
	return oauth2.Config{ClientID: f.clientID, Scopes: scopes,
		Endpoint: oauth2.Endpoint{TokenURL: md.Token, DeviceAuthURL: md.Device, AuthStyle: oauth2.AuthStyleInParams}}
}

// confirm plays the user: opens verification_uri_complete, submits the
// code as typed (lower case, no dash), signs in, and answers the
// confirmation with answer. It returns the confirmation page and the
// page after the answer.
func (f *deviceFixture) confirm(t *testing.T, b *browserless, complete, typed, answer string) (page, page) {
	t.Helper()
	p := b.get(complete)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="user_code"`) {
		t.Fatalf("GET %s: %d\n%.500s", complete, p.Status, p.Body)
	}
	form := hidden(p)
	form.Set("user_code", typed)
	p = b.post(f.iss+"/device", form)
	if p.Status == http.StatusOK && strings.Contains(p.Body, `name="password"`) {
		if !strings.Contains(p.Body, "Acme CLI") {
			t.Errorf("the sign-in page does not name the client:\n%.800s", p.Body)
		}
		p = b.signIn(p, userEmail, userPassword)
	}
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/device/confirm"`) {
		t.Fatalf("after the code and sign-in: %d, want the confirmation\n%.800s", p.Status, p.Body)
	}
	confirmation := p
	form = hidden(p)
	form.Set("consent", answer)
	return confirmation, b.post(f.iss+"/device/confirm", form)
}

// poll is a raw token request with a device code.
func (f *deviceFixture) poll(t *testing.T, deviceCode string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {f.clientID}}
	for k, v := range extra {
		form[k] = v
	}
	st, _, body := f.s.postForm(t, "/oauth2/token", form)
	var m map[string]any
	decode(t, body, &m)
	return st, m
}

// A command-line tool using golang.org/x/oauth2's DeviceAuth and
// DeviceAccessToken gets the user's tokens once the user has entered the
// code, signed in and allowed it: an access token for the resource it
// named with the user as sub and the sign-in's amr, an ID token, a
// refresh token; exactly once. The confirmation names the client, the
// resource and the scopes; the grant is audited. On both stores.
func TestDeviceGrantWithGolangOAuth2(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newDeviceFixture(t, dbURL, nil)
		const resource = "https://notes.example.com/mcp"
		if st, _, body := f.s.postJSON(t, "/admin/resources", map[string]string{"uri": resource, "name": "Notes MCP"}, bearer(f.admin)...); st != http.StatusCreated {
			t.Fatalf("register resource: %d %s", st, body)
		}
		conf := f.oauth2(t, "openid", "email")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		da, err := conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("resource", resource))
		if err != nil {
			t.Fatal(err)
		}
		if len(da.UserCode) != 9 || da.UserCode[4] != '-' || strings.Trim(strings.Replace(da.UserCode, "-", "", 1), "BCDFGHJKLMNPQRSTVWXZ") != "" {
			t.Errorf("user code %q", da.UserCode)
		}
		if da.VerificationURI != f.iss+"/device" || da.VerificationURIComplete != f.iss+"/device?user_code="+da.UserCode || da.Interval != 5 || da.Expiry.IsZero() {
			t.Errorf("device authorization %+v", da)
		}
		typed := strings.ToLower(strings.Replace(da.UserCode, "-", "", 1))
		confirmation, done := f.confirm(t, newBrowserless(t, f.iss), da.VerificationURIComplete, typed, "allow")
		for _, want := range []string{"Acme CLI", "Notes MCP", resource, "(email)", `name="consent" value="allow"`, `name="consent" value="deny"`} {
			if !strings.Contains(confirmation.Body, want) {
				t.Errorf("the confirmation does not show %q", want)
			}
		}
		if done.Status != http.StatusOK || !strings.Contains(done.Body, "You can return to your device") {
			t.Fatalf("allow: %d\n%.500s", done.Status, done.Body)
		}

		tok, err := conf.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		c := verifyAccessToken(t, f.s, tok.AccessToken, resource)
		if c.Subject != f.userID || c.ClientID != f.clientID || c.Scope != "email openid" || !slices.Equal(c.AMR, []string{"pwd"}) || c.Email != userEmail {
			t.Errorf("access token claims %+v", c)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Errorf("no refresh or ID token: %+v", tok)
		}

		// The refresh token keeps the resource and the user.
		st, _, body := f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {f.clientID}})
		var refreshed struct {
			AccessToken string `json:"access_token"`
		}
		decode(t, body, &refreshed)
		if st != http.StatusOK {
			t.Fatalf("refresh: %d %s", st, body)
		}
		if c := verifyAccessToken(t, f.s, refreshed.AccessToken, resource); c.Subject != f.userID {
			t.Errorf("refreshed claims %+v", c)
		}
		if idc := verifyWithJWKS(t, f.s, tok.Extra("id_token").(string)); idc["sub"] != f.userID || idc["aud"] != f.clientID {
			t.Errorf("ID token claims %v", idc)
		}

		// Exactly once.
		st, m := f.poll(t, da.DeviceCode, nil)
		if st != http.StatusBadRequest || m["error"] != "invalid_grant" {
			t.Errorf("second poll after success: %d %v", st, m)
		}
		// The code cannot be entered again.
		b := newBrowserless(t, f.iss)
		p := b.get(f.iss + "/device")
		form := hidden(p)
		form.Set("user_code", da.UserCode)
		if p = b.post(f.iss+"/device", form); p.Status != http.StatusConflict || !strings.Contains(p.Body, "already used") {
			t.Errorf("a used code entered again: %d\n%.400s", p.Status, p.Body)
		}

		for _, typ := range []string{authority.EventDeviceStarted, authority.EventDeviceApproved} {
			if ev := auditEvents(t, dbURL, authority.EventQuery{Type: typ}); len(ev) != 1 || !strings.Contains(ev[0].Detail, f.clientID) {
				t.Errorf("audit %s: %+v", typ, ev)
			}
		}
		if n := countRowsWhere(t, dbURL, "device_authorizations", "device_code_hash = '"+authority.HashToken(da.DeviceCode)+"'"); n != 1 {
			t.Errorf("the device code is not stored hashed (%d rows by hash)", n)
		}
	})
}

// A denied request ends the tool's polling with access_denied, and the
// denial is audited.
func TestDeviceGrantDenied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newDeviceFixture(t, dbURL, nil)
		conf := f.oauth2(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		da, err := conf.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, done := f.confirm(t, newBrowserless(t, f.iss), da.VerificationURI, da.UserCode, "deny")
		if done.Status != http.StatusOK || !strings.Contains(done.Body, "Access denied") {
			t.Fatalf("deny: %d\n%.500s", done.Status, done.Body)
		}
		_, err = conf.DeviceAccessToken(ctx, da)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
			t.Fatalf("after deny: %v", err)
		}
		if ev := auditEvents(t, dbURL, authority.EventQuery{Type: authority.EventDeviceDenied}); len(ev) != 1 || ev[0].UserID != f.userID {
			t.Errorf("audit: %+v", ev)
		}
	})
}

// Polls: authorization_pending while the user has not answered, without
// a write; slow_down when sooner than the interval, which then grows by
// 5 s; expired_token once the code has expired, which /device says too.
// The server's clock is moved, not waited for.
func TestDevicePollingPendingSlowDownAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		f := newDeviceFixture(t, dbURL, clock.Now)
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {f.clientID}, "scope": {"openid"}})
		var da struct {
			DeviceCode string `json:"device_code"`
			UserCode   string `json:"user_code"`
			ExpiresIn  int    `json:"expires_in"`
			Interval   int    `json:"interval"`
		}
		decode(t, body, &da)
		if st != http.StatusOK || da.ExpiresIn != 600 || da.Interval != 5 {
			t.Fatalf("device authorization: %d %s", st, body)
		}
		want := func(what, code string) {
			t.Helper()
			st, m := f.poll(t, da.DeviceCode, nil)
			if st != http.StatusBadRequest || m["error"] != code {
				t.Errorf("%s: %d %v, want %s", what, st, m, code)
			}
		}
		want("at once", "slow_down") // the interval is now 10 s
		clock.Add(10 * time.Second)
		want("10 s later", "authorization_pending")
		clock.Add(5 * time.Second)
		want("5 s later", "slow_down") // 15 s
		clock.Add(15 * time.Second)
		want("15 s later", "authorization_pending")
		if n := countRowsWhere(t, dbURL, "device_authorizations", "status = 'pending' AND used_at IS NULL AND decided_at IS NULL"); n != 1 {
			t.Errorf("pending rows: %d", n)
		}
		clock.Add(10 * time.Minute)
		want("after expiry", "expired_token")

		b := newBrowserless(t, f.iss)
		p := b.get(f.iss + "/device")
		form := hidden(p)
		form.Set("user_code", da.UserCode)
		if p = b.post(f.iss+"/device", form); p.Status != http.StatusGone || !strings.Contains(p.Body, "expired") {
			t.Errorf("an expired code entered: %d\n%.400s", p.Status, p.Body)
		}
	})
}

// The device authorization endpoint refuses a client without the grant
// (unauthorized_client), an unregistered resource (invalid_target), a
// scope the client may not have (invalid_scope), no client at all and a
// confidential client without its secret (invalid_client); the token
// endpoint refuses another client's device code and unknown ones.
func TestDeviceAuthorizationRefusals(t *testing.T) {
	clock := newTestClock()
	f := newDeviceFixture(t, storetest.SQLiteURL(t), clock.Now)
	webID, webSecret := f.s.oidcClient(t, f.admin, map[string]any{"name": "Web", "redirectUris": []string{"https://app.example.com/cb"}})
	confID, confSecret := f.s.oidcClient(t, f.admin, map[string]any{"name": "Box", "grantTypes": []string{deviceGrant}})
	for _, c := range []struct {
		what   string
		form   url.Values
		status int
		code   string
	}{
		{"a client without the grant", url.Values{"client_id": {webID}, "client_secret": {webSecret}}, 400, "unauthorized_client"},
		{"an unregistered resource", url.Values{"client_id": {f.clientID}, "resource": {"https://unknown.example.com/"}}, 400, "invalid_target"},
		{"two resources", url.Values{"client_id": {f.clientID}, "resource": {"https://a.example.com/", "https://b.example.com/"}}, 400, "invalid_target"},
		{"a scope not the client's", url.Values{"client_id": {f.clientID}, "scope": {"sigil:admin"}}, 400, "invalid_scope"},
		{"no client", url.Values{"scope": {"openid"}}, 401, "invalid_client"},
		{"a confidential client without its secret", url.Values{"client_id": {confID}}, 401, "invalid_client"},
		{"a confidential client with a wrong secret", url.Values{"client_id": {confID}, "client_secret": {"wrong"}}, 401, "invalid_client"},
	} {
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", c.form)
		var m map[string]string
		decode(t, body, &m)
		if st != c.status || m["error"] != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.what, st, body, c.status, c.code)
		}
	}
	st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {confID}, "client_secret": {confSecret}})
	var da struct {
		DeviceCode string `json:"device_code"`
	}
	if err := json.Unmarshal(body, &da); st != http.StatusOK || err != nil || da.DeviceCode == "" {
		t.Fatalf("confidential client: %d %s", st, body)
	}
	clock.Add(5 * time.Second)
	if st, m := f.poll(t, da.DeviceCode, nil); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("another client's device code: %d %v", st, m)
	}
	if st, m := f.poll(t, authority.RandomToken(32), nil); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("an unknown device code: %d %v", st, m)
	}
	if st, m := f.poll(t, "", nil); st != http.StatusBadRequest || m["error"] != "invalid_request" {
		t.Errorf("no device code: %d %v", st, m)
	}
}

// Wrong user codes are counted per client address by the login throttle:
// after SIGIL_LOCKOUT_THRESHOLD of them even a right code is refused with
// 429 and Retry-After until the lock runs out; a right code does not
// reset the count. On both stores.
func TestDeviceUserCodeGuessesAreThrottled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		f := newDeviceFixture(t, dbURL, clock.Now)
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {f.clientID}})
		var da struct {
			UserCode string `json:"user_code"`
		}
		decode(t, body, &da)
		if st != http.StatusOK {
			t.Fatalf("%d %s", st, body)
		}
		b := newBrowserless(t, f.iss)
		enter := func(code string) page {
			t.Helper()
			form := hidden(b.get(f.iss + "/device"))
			form.Set("user_code", code)
			return b.post(f.iss+"/device", form)
		}
		wrong := "BBBB-BBBB"
		if da.UserCode == wrong {
			wrong = "CCCC-CCCC"
		}
		for i := range 4 {
			if p := enter(wrong); p.Status != http.StatusNotFound || !strings.Contains(p.Body, `role="alert"`) {
				t.Fatalf("wrong code %d: %d\n%.400s", i+1, p.Status, p.Body)
			}
		}
		if p := enter(da.UserCode); p.Status != http.StatusOK {
			t.Fatalf("right code: %d\n%.400s", p.Status, p.Body)
		}
		if p := enter(wrong); p.Status != http.StatusNotFound {
			t.Fatalf("fifth wrong code: %d", p.Status)
		}
		p := enter(da.UserCode)
		if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many wrong codes") {
			t.Fatalf("after 5 wrong codes: %d %v\n%.400s", p.Status, p.Header, p.Body)
		}
		if p := enter("BCD"); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("a malformed code: %d", p.Status)
		}
		clock.Add(2 * time.Minute)
		if p := enter(da.UserCode); p.Status != http.StatusOK {
			t.Errorf("after the lock: %d", p.Status)
		}
		if ev := auditEvents(t, dbURL, authority.EventQuery{Type: authority.EventDeviceCodeWrong}); len(ev) != 5 {
			t.Errorf("%d device.code_wrong events, want 5", len(ev))
		}
	})
}
