package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A relying party of Sigil signs a user in through the upstream without
// knowing it exists: the first sign-in creates the account (its email
// verified as the upstream says), the next one finds it by the linked
// identity; tokens carry Sigil's user id, amr "fed" and idp "corp".
func TestUpstreamSignInForARelyingParty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "new@example.com", true)
		rp := newRelyingParty(t, fx.iss)
		id, secret := fx.s.oidcClient(t, fx.admin, map[string]any{"name": "Notes", "redirectUris": []string{rp.Callback()}, "firstParty": true})
		rp.configure(id, secret, "openid", "email")

		var subs []string
		for i := range 2 {
			b := newBrowserless(t, fx.iss)
			start := rp.srv.URL + "/start"
			login := fx.follow(b, b.get(start), start)
			if login.Status != http.StatusOK || !strings.Contains(login.Body, "Continue with Corp SSO") {
				t.Fatalf("sign-in page: %d\n%.500s", login.Status, login.Body)
			}
			back := fx.viaUpstream(t, b, login, "new@example.com")
			back = fx.follow(b, back, fx.iss)
			if !strings.HasPrefix(back.Header.Get("Location"), rp.Callback()) {
				t.Fatalf("sign-in %d: %d %s\n%.800s", i, back.Status, back.Header.Get("Location"), back.Body)
			}
			b.get(back.Header.Get("Location"))
			res := rp.result(t)
			if res.Err != "" || !res.Verified {
				t.Fatalf("relying party: %+v", res)
			}
			var extra struct {
				IDP string   `json:"idp"`
				AMR []string `json:"amr"`
			}
			if err := res.IDToken.Claims(&extra); err != nil {
				t.Fatal(err)
			}
			if res.Claims.Email != "new@example.com" || res.Claims.EmailVerified == nil || !*res.Claims.EmailVerified ||
				extra.IDP != "corp" || len(extra.AMR) != 1 || extra.AMR[0] != "fed" {
				t.Errorf("ID token: %+v idp %q amr %v", res.Claims, extra.IDP, extra.AMR)
			}
			at := verifyAccessToken(t, fx.s, res.Token.AccessToken, id)
			if at.Subject != res.Claims.Sub || len(at.AMR) != 1 || at.AMR[0] != "fed" {
				t.Errorf("access token: %+v", at)
			}
			if c := verifyWithJWKS(t, fx.s, res.Token.AccessToken); c["idp"] != "corp" {
				t.Errorf("access token idp %v", c["idp"])
			}
			subs = append(subs, res.Claims.Sub)
		}
		db := openDB(t, dbURL)
		u, err := db.UserByEmail(t.Context(), "new@example.com")
		if err != nil || subs[0] != u.ID || subs[1] != u.ID || !u.EmailVerified {
			t.Errorf("account %+v %v; subjects %v", u, err, subs)
		}
		if n := countEvents(t, db, "upstream.login"); n != 2 {
			t.Errorf("%d upstream.login events, want 2", n)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'new@example.com'"); n != 1 {
			t.Errorf("%d accounts with the email", n)
		}
		// The account made through the upstream has no password: any
		// password is wrong, with the answer of a wrong password.
		if st, _, body := fx.s.postJSON(t, "/auth/login", map[string]string{"email": "new@example.com", "password": "a long enough password"}); st != http.StatusUnauthorized {
			t.Errorf("password sign-in of an account without a password: %d %s", st, body)
		}
	})
}

// The linking rules: an existing account of the upstream's email is
// linked at once only with linking verified-email, the upstream's
// email_verified and a verified local email; otherwise its password is
// asked first, or the user cancels. Never a second account.
func TestUpstreamLinkingRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		setLinking := func(linking string) {
			t.Helper()
			// The secret is never shown: a PUT gives it again.
			body, _ := json.Marshal(map[string]any{"name": "Corp SSO", "type": "oidc",
				"issuer": fx.upIss, "clientId": fx.clientID, "clientSecret": fx.secret, "linking": linking})
			st, _, b := doJSON(t, fx.s, http.MethodPut, "/admin/upstreams/corp", string(body), fx.admin)
			if st != http.StatusOK || strings.Contains(string(b), fx.secret) || !strings.Contains(string(b), `"linking":"`+linking+`"`) {
				t.Fatalf("put upstream: %d %s", st, b)
			}
		}
		fx.upUser(t, userEmail, true)

		// linking none, both emails verified: the password first.
		setVerified(t, dbURL, userEmail)
		b := newBrowserless(t, fx.iss)
		p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), userEmail)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) || !strings.Contains(p.Body, userEmail) {
			t.Fatalf("linking none: %d %s\n%.800s", p.Status, p.Header.Get("Location"), p.Body)
		}
		// Cancel: nothing linked, back to the sign-in page.
		f := hidden(p)
		f.Set("cancel", "1")
		c := b.post(fx.iss+"/login/upstream/link", f)
		if c.Status != http.StatusSeeOther || c.Header.Get("Location") != "/login" || fx.signedInAs(t, b) != "" {
			t.Errorf("cancel: %d %s", c.Status, c.Header.Get("Location"))
		}
		if n := countRowsWhere(t, dbURL, "upstream_identities", "1=1"); n != 0 {
			t.Errorf("cancel linked %d identities", n)
		}

		// Again: a wrong password stays on the page; the right one links.
		p = fx.viaUpstream(t, b, b.get(fx.iss+"/login"), userEmail)
		f = hidden(p)
		f.Set("password", "wrong password here")
		w := b.post(fx.iss+"/login/upstream/link", f)
		if w.Status != http.StatusUnauthorized || !strings.Contains(w.Body, `name="password"`) || fx.signedInAs(t, b) != "" {
			t.Fatalf("wrong password: %d\n%.500s", w.Status, w.Body)
		}
		f = hidden(w)
		f.Set("password", userPassword)
		ok := b.post(fx.iss+"/login/upstream/link", f)
		if ok.Status != http.StatusSeeOther || ok.Header.Get("Location") != "/account" || fx.signedInAs(t, b) != userEmail {
			t.Fatalf("link with the password: %d %s\n%.500s", ok.Status, ok.Header.Get("Location"), ok.Body)
		}
		if a := b.get(fx.iss + "/account"); !strings.Contains(a.Body, "<strong>Corp SSO</strong> as "+userEmail) {
			t.Errorf("the account page does not list the linked identity:\n%.3000s", a.Body)
		}
		if n := countRowsWhere(t, dbURL, "upstream_identities", "subject <> ''"); n != 1 {
			t.Errorf("%d identities after the link", n)
		}
		// From now on the identity signs in at once.
		b2 := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b2, b2.get(fx.iss+"/login"), userEmail); p.Status != http.StatusSeeOther || fx.signedInAs(t, b2) != userEmail {
			t.Errorf("linked identity: %d %s", p.Status, p.Header.Get("Location"))
		}

		// verified-email: linked at once only when both sides verified
		// the email.
		setLinking("verified-email")
		for _, c := range []struct {
			email           string
			upOK, localOK   bool
			wantPasswordAsk bool
		}{
			{"both@example.com", true, true, false},
			{"uponly@example.com", true, false, true},
			{"localonly@example.com", false, true, true},
		} {
			if st, _, body := fx.s.postJSON(t, "/auth/signup", map[string]string{"email": c.email, "password": userPassword}); st != http.StatusCreated {
				t.Fatalf("signup: %d %s", st, body)
			}
			if c.localOK {
				setVerified(t, dbURL, c.email)
			}
			fx.upUser(t, c.email, c.upOK)
			b := newBrowserless(t, fx.iss)
			p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), c.email)
			asked := p.Status == http.StatusOK && strings.Contains(p.Body, `name="password"`)
			if asked != c.wantPasswordAsk || (!asked && p.Status != http.StatusSeeOther) {
				t.Errorf("%s: %d %s, password asked %v, want %v", c.email, p.Status, p.Header.Get("Location"), asked, c.wantPasswordAsk)
			}
			if n := countRowsWhere(t, dbURL, "users", "email = '"+c.email+"'"); n != 1 {
				t.Errorf("%s: %d accounts", c.email, n)
			}
		}
		db := openDB(t, dbURL)
		if n := countEvents(t, db, "upstream.linked"); n != 2 {
			t.Errorf("%d upstream.linked events, want 2 (password, verified email)", n)
		}
	})
}

// Every failure of a sign-in through the upstream ends on a page with a
// way back and no session, and is audited: a forged, replayed or
// foreign-browser callback, an error from the upstream, a wrong iss, an
// upstream that is down.
func TestUpstreamFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "new@example.com", true)
		cb := fx.iss + "/login/upstream/corp/callback"

		b := newBrowserless(t, fx.iss)
		fx.wantUpstreamError(t, "forged state", b, b.get(cb+"?state=forged&code=x&iss="+url.QueryEscape(fx.upIss)), http.StatusBadRequest)
		fx.wantUpstreamError(t, "no state", b, b.get(cb+"?code=x"), http.StatusBadRequest)

		// A real callback taken to another browser, then replayed.
		upLogin, _ := fx.startUpstream(t, b, b.get(fx.iss+"/login"))
		back := fx.signInUpstream(t, b, upLogin, "new@example.com").Header.Get("Location")
		other := newBrowserless(t, fx.iss)
		fx.wantUpstreamError(t, "callback in another browser", other, other.get(back), http.StatusBadRequest)
		if p := b.get(back); p.Status != http.StatusSeeOther || fx.signedInAs(t, b) != "new@example.com" {
			t.Fatalf("callback in its own browser: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		b.post(fx.iss+"/oauth2/logout", url.Values{"csrf_token": {hidden(b.get(fx.iss + "/account")).Get("csrf_token")}})
		fx.wantUpstreamError(t, "replayed callback", b, b.get(back), http.StatusBadRequest)

		// A callback whose iss names another issuer (a mix-up).
		b = newBrowserless(t, fx.iss)
		upLogin, _ = fx.startUpstream(t, b, b.get(fx.iss+"/login"))
		loc, _ := url.Parse(fx.signInUpstream(t, b, upLogin, "new@example.com").Header.Get("Location"))
		q := loc.Query()
		q.Set("iss", "http://127.0.0.1:9/evil")
		loc.RawQuery = q.Encode()
		fx.wantUpstreamError(t, "wrong iss", b, b.get(loc.String()), http.StatusBadGateway)

		// An error from the upstream.
		b = newBrowserless(t, fx.iss)
		_, at := fx.startUpstream(t, b, b.get(fx.iss+"/login"))
		au, _ := url.Parse(at)
		fx.wantUpstreamError(t, "error from the upstream", b,
			b.get(cb+"?error=access_denied&state="+url.QueryEscape(au.Query().Get("state"))+"&iss="+url.QueryEscape(fx.upIss)), http.StatusForbidden)

		// An unknown upstream, and one that is down.
		b = newBrowserless(t, fx.iss)
		login := b.get(fx.iss + "/login")
		f := hidden(login)
		f.Set("upstream", "nope")
		fx.wantUpstreamError(t, "unknown upstream", b, b.post(fx.iss+"/login/upstream", f), http.StatusNotFound)
		// Down after the sign-in at the upstream: the code cannot be
		// redeemed.
		b2 := newBrowserless(t, fx.iss)
		upLogin, _ = fx.startUpstream(t, b2, b2.get(fx.iss+"/login"))
		back = fx.signInUpstream(t, b2, upLogin, "new@example.com").Header.Get("Location")
		fx.up.stop()
		fx.wantUpstreamError(t, "upstream down at the callback", b2, b2.get(back), http.StatusBadGateway)
		f.Set("upstream", "corp")
		fx.wantUpstreamError(t, "upstream down", b, b.post(fx.iss+"/login/upstream", f), http.StatusBadGateway)

		db := openDB(t, dbURL)
		if n := countEvents(t, db, "upstream.failure"); n < 8 {
			t.Errorf("%d upstream.failure events, want one per failure", n)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'new@example.com'"); n != 1 {
			t.Errorf("%d accounts for the one successful sign-in", n)
		}
	})
}

// An existing account with a second factor is linked only after its
// password and then its second factor.
func TestUpstreamLinkNeedsTheSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "verified-email", nil)
		_, codes := enrolTOTP(t, fx.s, fx.s.login(t, userEmail, userPassword).Token, userPassword, &testClock{t: time.Now()})
		fx.upUser(t, userEmail, true)
		b := newBrowserless(t, fx.iss)
		p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), userEmail)
		f := hidden(p)
		f.Set("password", userPassword)
		m := b.post(fx.iss+"/login/upstream/link", f)
		if m.Status != http.StatusOK || !strings.Contains(m.Body, `action="/login/mfa"`) || !strings.Contains(m.Body, `name="link_ticket"`) || fx.signedInAs(t, b) != "" {
			t.Fatalf("after the password: %d %s\n%.800s", m.Status, m.Header.Get("Location"), m.Body)
		}
		if n := countRowsWhere(t, dbURL, "upstream_identities", "subject <> ''"); n != 0 {
			t.Fatalf("linked before the second factor")
		}
		f = hidden(m)
		f.Set("code", codes[0])
		d := b.post(fx.iss+"/login/mfa", f)
		if d.Status != http.StatusSeeOther || fx.signedInAs(t, b) != userEmail {
			t.Fatalf("second factor: %d %s\n%.500s", d.Status, d.Header.Get("Location"), d.Body)
		}
		if n := countRowsWhere(t, dbURL, "upstream_identities", "subject <> ''"); n != 1 {
			t.Errorf("%d identities linked after the second factor", n)
		}
	})
}

// A client that requires a second factor still does after the upstream:
// a user who signed in through it with none enrolled gets access_denied.
func TestUpstreamSignInStillMeetsRequireMFA(t *testing.T) {
	fx := newFedFixture(t, storetest.SQLiteURL(t), "none", nil)
	fx.upUser(t, "new@example.com", true)
	rp := newRelyingParty(t, fx.iss)
	id, secret := fx.s.oidcClient(t, fx.admin, map[string]any{"name": "Vault", "redirectUris": []string{rp.Callback()}, "firstParty": true, "requireMfa": true})
	rp.configure(id, secret, "openid", "email")
	b := newBrowserless(t, fx.iss)
	start := rp.srv.URL + "/start"
	back := fx.follow(b, fx.viaUpstream(t, b, fx.follow(b, b.get(start), start), "new@example.com"), fx.iss)
	if !strings.HasPrefix(back.Header.Get("Location"), rp.Callback()) {
		t.Fatalf("%d %s\n%.500s", back.Status, back.Header.Get("Location"), back.Body)
	}
	b.get(back.Header.Get("Location"))
	if res := rp.result(t); res.Err != "access_denied" {
		t.Errorf("a client with requireMfa after an upstream sign-in without a second factor: %+v", res)
	}
}
