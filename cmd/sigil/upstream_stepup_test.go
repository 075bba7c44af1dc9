package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A session that signed in through the upstream and then steps up with
// a second factor (a client with requireMfa sends it to the sign-in
// step) keeps naming the upstream: the tokens carry idp and amr "fed"
// beside the second factor's "mfa".
func TestUpstreamStepUpKeepsIDP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "verified-email", nil)
		_, codes := enrolTOTP(t, fx.s, fx.s.login(t, userEmail, userPassword).Token, userPassword, &testClock{t: time.Now()})
		setVerified(t, dbURL, userEmail)
		fx.upUser(t, userEmail, true)
		b := newBrowserless(t, fx.iss)
		// Linked at once (verified email on both sides): a session with
		// amr fed and idp corp, no second factor yet.
		if p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), userEmail); p.Status != http.StatusSeeOther || fx.signedInAs(t, b) != userEmail {
			t.Fatalf("upstream sign-in: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		rp := newRelyingParty(t, fx.iss)
		id, secret := fx.s.oidcClient(t, fx.admin, map[string]any{"name": "Vault", "redirectUris": []string{rp.Callback()}, "firstParty": true, "requireMfa": true})
		rp.configure(id, secret, "openid", "email")
		start := rp.srv.URL + "/start"
		login := fx.follow(b, b.get(start), start)
		if login.Status != http.StatusOK || !strings.Contains(login.Body, `name="password"`) {
			t.Fatalf("requireMfa after the upstream: %d %s\n%.500s", login.Status, login.Header.Get("Location"), login.Body)
		}
		m := b.signIn(login, userEmail, userPassword)
		if m.Status != http.StatusOK || !strings.Contains(m.Body, `action="/login/mfa"`) {
			t.Fatalf("password: %d %s\n%.500s", m.Status, m.Header.Get("Location"), m.Body)
		}
		f := hidden(m)
		f.Set("code", codes[0])
		back := fx.follow(b, b.post(fx.iss+"/login/mfa", f), fx.iss)
		if !strings.HasPrefix(back.Header.Get("Location"), rp.Callback()) {
			t.Fatalf("second factor: %d %s\n%.500s", back.Status, back.Header.Get("Location"), back.Body)
		}
		b.get(back.Header.Get("Location"))
		res := rp.result(t)
		if res.Err != "" {
			t.Fatalf("relying party: %+v", res)
		}
		var extra struct {
			IDP string   `json:"idp"`
			AMR []string `json:"amr"`
			ACR string   `json:"acr"`
		}
		if err := res.IDToken.Claims(&extra); err != nil {
			t.Fatal(err)
		}
		if extra.IDP != "corp" || !slices.Contains(extra.AMR, "fed") || !slices.Contains(extra.AMR, "mfa") || extra.ACR != "urn:sigil:acr:mfa" {
			t.Errorf("ID token after the step-up: idp %q amr %v acr %q", extra.IDP, extra.AMR, extra.ACR)
		}
		if c := verifyWithJWKS(t, fx.s, res.Token.AccessToken); c["idp"] != "corp" {
			t.Errorf("access token after the step-up: idp %v", c["idp"])
		}
	})
}

// The link ticket of an existing account outlives the second factor's
// step: a password given late in the ticket's life, then the second
// factor within its own step, still links the identity.
func TestUpstreamLinkTicketOutlivesTheSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		fx := newFedFixtureClock(t, dbURL, "none", nil, clock.Now)
		_, codes := enrolTOTP(t, fx.s, fx.s.login(t, userEmail, userPassword).Token, userPassword, clock)
		fx.upUser(t, userEmail, true)
		b := newBrowserless(t, fx.iss)
		p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), userEmail)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) {
			t.Fatalf("link page: %d\n%.500s", p.Status, p.Body)
		}
		clock.Add(8 * time.Minute) // the password comes late, within the ticket's 10 minutes
		f := hidden(p)
		f.Set("password", userPassword)
		m := b.post(fx.iss+"/login/upstream/link", f)
		if m.Status != http.StatusOK || !strings.Contains(m.Body, `name="link_ticket"`) {
			t.Fatalf("after the password: %d\n%.500s", m.Status, m.Body)
		}
		clock.Add(4 * time.Minute) // past the ticket's first 10 minutes, within the second factor's 5
		f = hidden(m)
		f.Set("code", codes[0])
		d := b.post(fx.iss+"/login/mfa", f)
		if d.Status != http.StatusSeeOther || fx.signedInAs(t, b) != userEmail {
			t.Fatalf("second factor: %d %s\n%.500s", d.Status, d.Header.Get("Location"), d.Body)
		}
		if owner := fx.identityOwner(t, dbURL, userEmail); owner != userEmail {
			t.Errorf("identity not linked after a second factor in time (owner %q)", owner)
		}
	})
}

// An account without a password links another account only within
// RecentSignIn of its sign-in: later the form says to sign in again and
// nothing starts.
func TestAccountLinkWithoutPasswordNeedsARecentSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		fx := newFedFixtureClock(t, dbURL, "none", nil, clock.Now)
		fx.upUser(t, "new@example.com", true)
		b := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), "new@example.com"); p.Status != http.StatusSeeOther {
			t.Fatalf("upstream sign-in: %d\n%.500s", p.Status, p.Body)
		}
		if _, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "lab", "name": "Lab", "type": "oidc",
			"issuer": fx.upIss, "clientId": fx.clientID, "clientSecret": fx.secret}, bearer(fx.admin)...); !strings.Contains(string(body), `"id":"lab"`) {
			t.Fatalf("second upstream: %s", body)
		}
		a := b.get(fx.iss + "/account")
		if !strings.Contains(a.Body, "Link Lab") || strings.Contains(a.Body, `id="link_password"`) || !strings.Contains(a.Body, "sign-in of the last 10 minutes") {
			t.Fatalf("link form of an account without a password:\n%.4000s", a.Body)
		}
		// Within RecentSignIn the link starts at once, no password asked.
		clock.Add(9 * time.Minute)
		p := b.post(fx.iss+"/account/upstreams/link", fx.accountForm(t, b, "upstream", "lab"))
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), fx.upIss+"/oauth2/authorize?") {
			t.Errorf("link after a recent sign-in: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		clock.Add(2 * time.Minute)
		p = b.post(fx.iss+"/account/upstreams/link", fx.accountForm(t, b, "upstream", "lab"))
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "sign in again first") || strings.Contains(p.Header.Get("Set-Cookie"), "sigil_upstream=") {
			t.Errorf("link after a stale sign-in: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if n := countRowsWhere(t, dbURL, "upstream_pending", "user_id <> ''"); n != 1 {
			t.Errorf("%d links started, want the recent one only", n)
		}
	})
}
