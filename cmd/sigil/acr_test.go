package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// idTokenOf exchanges code and returns the ID token's claims.
func (f *oidcFixture) idTokenOf(t *testing.T, code, verifier string) map[string]any {
	t.Helper()
	st, _, body := f.exchange(t, code, verifier)
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %s", st, body)
	}
	var ans struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	return verifyWithJWKS(t, f.s, ans.IDToken)
}

// acr_values=urn:sigil:acr:mfa asks for a sign-in with a second factor: a
// user without one goes on (acr says pwd), a user with one signed in with
// the password alone is sent through the second-factor step (none with
// prompt=none), and the ID token's acr says mfa. Discovery lists the
// values. On both stores.
func TestACRValuesAskForASecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		f := newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))
		_, _, disc := f.s.get(t, "/.well-known/openid-configuration")
		if !strings.Contains(string(disc), `"acr_values_supported":["urn:sigil:acr:pwd","urn:sigil:acr:mfa"]`) {
			t.Errorf("discovery: %s", disc)
		}
		mfa := url.Values{"acr_values": {"urn:sigil:acr:mfa"}}

		b := f.signedIn(t) // the password alone; no second factor yet
		code, verifier := f.code(t, b, mfa)
		if idc := f.idTokenOf(t, code, verifier); idc["acr"] != "urn:sigil:acr:pwd" {
			t.Errorf("without a second factor: acr %v", idc["acr"])
		}

		secret, _ := enrolTOTP(t, f.s, f.s.login(t, userEmail, userPassword).Token, userPassword, clock)
		_, challenge := pkce()
		pk := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "acr_values": {"urn:sigil:acr:mfa"}}
		login := b.get(f.authorizeURL(f.pubID, pk))
		if login.Status != http.StatusOK || !strings.Contains(login.Body, `name="password"`) {
			t.Fatalf("password-only session asked for mfa: %d\n%.300s", login.Status, login.Body)
		}
		none := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "acr_values": {"urn:sigil:acr:mfa"}, "prompt": {"none"}}
		f.wantRedirectError(t, "prompt=none", b.get(f.authorizeURL(f.pubID, none)), "login_required")
		// Without acr_values the same session still gets a code.
		code, verifier = f.code(t, b, nil)
		if idc := f.idTokenOf(t, code, verifier); idc["acr"] != "urn:sigil:acr:pwd" {
			t.Errorf("password session: acr %v", idc["acr"])
		}

		step := b.signIn(login, userEmail, userPassword)
		form := hidden(step)
		clock.Add(30 * time.Second)
		form.Set("code", totpCode(t, secret, clock.Now()))
		done := b.post(f.iss+"/login/mfa", form)
		if done.Status != http.StatusFound && done.Status != http.StatusSeeOther {
			t.Fatalf("after the second factor: %d\n%.300s", done.Status, done.Body)
		}
		code, verifier = f.code(t, b, mfa)
		idc := f.idTokenOf(t, code, verifier)
		amr, _ := idc["amr"].([]any)
		if idc["acr"] != "urn:sigil:acr:mfa" || !slices.Contains(amr, any("mfa")) {
			t.Errorf("after the second factor: acr %v amr %v", idc["acr"], idc["amr"])
		}
	})
}
