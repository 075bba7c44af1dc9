package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A client registered with requireMfa gets its confirmation only after a
// sign-in with a second factor: a user without one is told so and nothing
// is decided; with a TOTP code the confirmation is reached, and the
// tokens' amr says mfa. On both stores.
func TestDeviceConfirmationNeedsTheClientsSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		f := newDeviceFixture(t, dbURL, clock.Now)
		strictID, _ := f.s.oidcClient(t, f.admin, map[string]any{"name": "Vault CLI", "public": true, "requireMfa": true,
			"grantTypes": []string{deviceGrant}})
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {strictID}})
		var da struct {
			DeviceCode string `json:"device_code"`
			UserCode   string `json:"user_code"`
		}
		decode(t, body, &da)
		if st != http.StatusOK {
			t.Fatalf("%d %s", st, body)
		}
		enter := func(b *browserless) page {
			form := hidden(b.get(f.iss + "/device"))
			form.Set("user_code", da.UserCode)
			login := b.post(f.iss+"/device", form)
			if !strings.Contains(login.Body, `name="password"`) || !strings.Contains(login.Body, "Vault CLI") {
				t.Fatalf("want the sign-in page for Vault CLI: %d\n%.500s", login.Status, login.Body)
			}
			return b.signIn(login, userEmail, userPassword)
		}
		if p := enter(newBrowserless(t, f.iss)); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "second factor") {
			t.Fatalf("no second factor: %d\n%.500s", p.Status, p.Body)
		}
		if n := countRowsWhere(t, dbURL, "device_authorizations", "status = 'pending'"); n != 1 {
			t.Errorf("pending authorizations: %d", n)
		}

		secret, _ := enrolTOTP(t, f.s, f.s.login(t, userEmail, userPassword).Token, userPassword, clock)
		clock.Add(30 * time.Second)
		b := newBrowserless(t, f.iss)
		p := enter(b)
		form := hidden(p)
		if form.Get("mfa_token") == "" || form.Get("authz") == "" {
			t.Fatalf("want the second-factor step: %d\n%.500s", p.Status, p.Body)
		}
		form.Set("code", totpCode(t, secret, clock.Now()))
		p = b.post(f.iss+"/login/mfa", form)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/device/confirm"`) || !strings.Contains(p.Body, "Vault CLI") {
			t.Fatalf("after the code: %d\n%.500s", p.Status, p.Body)
		}
		form = hidden(p)
		form.Set("consent", "allow")
		if p = b.post(f.iss+"/device/confirm", form); p.Status != http.StatusOK {
			t.Fatalf("allow: %d\n%.500s", p.Status, p.Body)
		}
		st, _, body = f.s.postForm(t, "/oauth2/token", url.Values{"grant_type": {deviceGrant}, "device_code": {da.DeviceCode}, "client_id": {strictID}})
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		decode(t, body, &tok)
		if st != http.StatusOK {
			t.Fatalf("token: %d %s", st, body)
		}
		if c := verifyAccessToken(t, f.s, tok.AccessToken, strictID); !slices.Contains(c.AMR, "mfa") || c.Subject != f.userID {
			t.Errorf("claims %+v", c)
		}
	})
}

// A confirmation page's form posted with another session's ticket, or
// without one, records nothing and shows the confirmation anew.
func TestDeviceConfirmationIsBoundToItsPage(t *testing.T) {
	f := newDeviceFixture(t, storetest.SQLiteURL(t), nil)
	st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {f.clientID}})
	var da struct {
		UserCode string `json:"user_code"`
	}
	decode(t, body, &da)
	if st != http.StatusOK {
		t.Fatalf("%d %s", st, body)
	}
	open := func() (*browserless, url.Values) {
		b := newBrowserless(t, f.iss)
		form := hidden(b.get(f.iss + "/device"))
		form.Set("user_code", da.UserCode)
		p := b.signIn(b.post(f.iss+"/device", form), userEmail, userPassword)
		if !strings.Contains(p.Body, `action="/device/confirm"`) {
			t.Fatalf("no confirmation: %d\n%.500s", p.Status, p.Body)
		}
		return b, hidden(p)
	}
	b1, f1 := open()
	_, f2 := open()
	forged := url.Values{"csrf_token": {f1.Get("csrf_token")}, "device": {f1.Get("device")}, "step": {f2.Get("step")}, "consent": {"allow"}}
	if p := b1.post(f.iss+"/device/confirm", forged); p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/device/confirm"`) {
		t.Errorf("another session's ticket: %d\n%.300s", p.Status, p.Body)
	}
	forged.Del("step")
	if p := b1.post(f.iss+"/device/confirm", forged); p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/device/confirm"`) {
		t.Errorf("no ticket: %d\n%.300s", p.Status, p.Body)
	}
	if n := countRowsWhere(t, f.dbURL, "device_authorizations", "status = 'pending'"); n != 1 {
		t.Errorf("a forged confirmation decided the authorization")
	}
}

// The CLI registers a command-line tool as docs/agents.md shows: public,
// the device grant and refresh tokens, no redirect URI.
func TestDeviceClientFromTheCLI(t *testing.T) {
	env := testEnv(storetest.SQLiteURL(t), nil)
	out, errOut, err := runCLI(t, env, "", "clients", "create", "--name", "Acme CLI", "--public",
		"--grant-type", deviceGrant, "--grant-type", "refresh_token")
	if err != nil || !strings.Contains(out+errOut, "public") {
		t.Fatalf("clients create: %v\n%s\n%s", err, out, errOut)
	}
	if _, errOut, err := runCLI(t, env, "", "clients", "create", "--name", "Bad", "--grant-type", "urn:example:unknown"); err == nil {
		t.Errorf("an unknown grant type was accepted: %s", errOut)
	}
}

// A browser already signed in goes from the code straight to the
// confirmation (still shown); a user locked between Allow and the poll
// gets no tokens.
func TestDeviceSignedInBrowserAndLockBeforeThePoll(t *testing.T) {
	clock := newTestClock()
	f := newDeviceFixture(t, storetest.SQLiteURL(t), clock.Now)
	start := func() (string, string) {
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {f.clientID}})
		var da struct {
			DeviceCode string `json:"device_code"`
			UserCode   string `json:"user_code"`
		}
		decode(t, body, &da)
		if st != http.StatusOK {
			t.Fatalf("%d %s", st, body)
		}
		return da.DeviceCode, da.UserCode
	}
	b := newBrowserless(t, f.iss)
	_, code1 := start()
	if _, p := f.confirm(t, b, f.iss+"/device", code1, "allow"); p.Status != http.StatusOK {
		t.Fatalf("first device: %d", p.Status)
	}
	device2, code2 := start()
	form := hidden(b.get(f.iss + "/device"))
	form.Set("user_code", code2)
	p := b.post(f.iss+"/device", form)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/device/confirm"`) || strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("signed in: want the confirmation at once: %d\n%.500s", p.Status, p.Body)
	}
	form = hidden(p)
	form.Set("consent", "allow")
	if p = b.post(f.iss+"/device/confirm", form); p.Status != http.StatusOK {
		t.Fatalf("allow: %d", p.Status)
	}
	if st, _, body := f.s.postJSON(t, "/admin/users/"+f.userID+"/lock", nil, bearer(f.admin)...); st >= 300 {
		t.Fatalf("lock: %d %s", st, body)
	}
	clock.Add(5 * time.Second)
	if st, m := f.poll(t, device2, nil); st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("poll after the lock: %d %v", st, m)
	}
}
