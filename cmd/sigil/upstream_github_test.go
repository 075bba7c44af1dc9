package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// A relying party of Sigil signs a user in through GitHub (the
// stand-in) without knowing it exists: the first sign-in creates the
// account with GitHub's primary email, verified as GitHub says; the
// second finds the same user by GitHub's numeric id. Tokens carry
// Sigil's user id and idp "gh".
func TestGitHubSignInForARelyingParty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newGitHubFixture(t, dbURL, "none")
		octo := &ghUser{ID: 4242, Login: "octo", Name: "Octo Cat", Emails: ghEmails("new@example.com", true)}
		rp := newRelyingParty(t, fx.iss)
		id, secret := fx.s.oidcClient(t, fx.admin, map[string]any{"name": "Notes", "redirectUris": []string{rp.Callback()}, "firstParty": true})
		rp.configure(id, secret, "openid", "email", "profile")

		var subs []string
		for i := range 2 {
			b := newBrowserless(t, fx.iss)
			start := rp.srv.URL + "/start"
			login := b.get(start)
			login = b.get(login.Location().String())
			for login.Status == http.StatusFound || login.Status == http.StatusSeeOther {
				login = b.get(fx.iss + login.Header.Get("Location"))
			}
			back := fx.viaGitHub(t, b, login, octo)
			for range 5 {
				if strings.HasPrefix(back.Header.Get("Location"), rp.Callback()) {
					break
				}
				if back.Status != http.StatusSeeOther && back.Status != http.StatusFound {
					t.Fatalf("sign-in %d: %d %s\n%.800s", i, back.Status, back.Header.Get("Location"), back.Body)
				}
				back = b.get(fx.iss + back.Header.Get("Location"))
			}
			b.get(back.Header.Get("Location"))
			res := rp.result(t)
			if res.Err != "" || !res.Verified {
				t.Fatalf("relying party: %+v", res)
			}
			var extra struct {
				IDP  string   `json:"idp"`
				AMR  []string `json:"amr"`
				Name string   `json:"name"`
			}
			if err := res.IDToken.Claims(&extra); err != nil {
				t.Fatal(err)
			}
			if res.Claims.Email != "new@example.com" || res.Claims.EmailVerified == nil || !*res.Claims.EmailVerified ||
				extra.IDP != "gh" || len(extra.AMR) != 1 || extra.AMR[0] != "fed" || extra.Name != "Octo Cat" {
				t.Errorf("ID token: %+v idp %q amr %v name %q", res.Claims, extra.IDP, extra.AMR, extra.Name)
			}
			if c := verifyWithJWKS(t, fx.s, res.Token.AccessToken); c["idp"] != "gh" || c["sub"] != res.Claims.Sub {
				t.Errorf("access token sub %v idp %v", c["sub"], c["idp"])
			}
			subs = append(subs, res.Claims.Sub)
		}
		db := openDB(t, dbURL)
		u, err := db.UserByEmail(t.Context(), "new@example.com")
		if err != nil || subs[0] != u.ID || subs[1] != u.ID || !u.EmailVerified {
			t.Errorf("account %+v %v; subjects %v", u, err, subs)
		}
		if n := countRowsWhere(t, dbURL, "upstream_identities", "upstream_id = 'gh' AND subject = '4242'"); n != 1 {
			t.Errorf("%d identities of GitHub user 4242", n)
		}
		if n := countEvents(t, db, "upstream.login"); n != 2 {
			t.Errorf("%d upstream.login events, want 2", n)
		}
		// Two REST calls a sign-in: /user and /user/emails.
		if n := fx.gh.calls(); n != 4 {
			t.Errorf("%d REST calls for two sign-ins, want 4", n)
		}
	})
}

// linking verified-email links an existing verified account at once only
// when GitHub's primary email is verified; an unverified primary email
// never links without the account's password, and a new account made
// with it stays unverified.
func TestGitHubLinkingRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newGitHubFixture(t, dbURL, "verified-email")
		setVerified(t, dbURL, userEmail)

		// GitHub's primary email verified: linked at once.
		b := newBrowserless(t, fx.iss)
		grace := &ghUser{ID: 1, Login: "grace", Emails: ghEmails(userEmail, true)}
		if p := fx.viaGitHub(t, b, b.get(fx.iss+"/login"), grace); p.Status != http.StatusSeeOther || fx.signedInAsEmail(t, b) != userEmail {
			t.Fatalf("verified primary email: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}

		// Unverified primary email of a verified local account: the
		// password first, even with verified-email; another verified
		// (not primary) address does not count.
		if st, _, body := fx.s.postJSON(t, "/auth/signup", map[string]string{"email": "ada@example.com", "password": userPassword}); st != http.StatusCreated {
			t.Fatalf("signup: %d %s", st, body)
		}
		setVerified(t, dbURL, "ada@example.com")
		ada := &ghUser{ID: 2, Login: "ada", Emails: ghEmails("ada@example.com", false)}
		b = newBrowserless(t, fx.iss)
		p := fx.viaGitHub(t, b, b.get(fx.iss+"/login"), ada)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) || !strings.Contains(p.Body, "ada@example.com") || fx.signedInAsEmail(t, b) != "" {
			t.Fatalf("unverified primary email: %d %s\n%.800s", p.Status, p.Header.Get("Location"), p.Body)
		}
		f := hidden(p)
		f.Set("password", userPassword)
		if ok := b.post(fx.iss+"/login/upstream/link", f); ok.Status != http.StatusSeeOther || fx.signedInAsEmail(t, b) != "ada@example.com" {
			t.Fatalf("link with the password: %d %s\n%.500s", ok.Status, ok.Header.Get("Location"), ok.Body)
		}

		// No account yet, unverified primary email: a new account whose
		// email is not verified.
		b = newBrowserless(t, fx.iss)
		lin := &ghUser{ID: 3, Login: "lin", Emails: ghEmails("lin@example.com", false)}
		if p := fx.viaGitHub(t, b, b.get(fx.iss+"/login"), lin); p.Status != http.StatusSeeOther {
			t.Fatalf("new account with an unverified email: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		u, err := openDB(t, dbURL).UserByEmail(t.Context(), "lin@example.com")
		if err != nil || u.EmailVerified || u.Name != "lin" {
			t.Errorf("account made with an unverified GitHub email: %+v %v", u, err)
		}

		// No primary email at all: nothing to make an account with.
		b = newBrowserless(t, fx.iss)
		none := &ghUser{ID: 4, Login: "none", Emails: []map[string]any{{"email": "x@example.com", "primary": false, "verified": true}}}
		fx.wantError(t, "no primary email", b, fx.viaGitHub(t, b, b.get(fx.iss+"/login"), none), http.StatusForbidden)

		db := openDB(t, dbURL)
		if n := countEvents(t, db, "upstream.linked"); n != 2 {
			t.Errorf("%d upstream.linked events, want 2 (verified email, password)", n)
		}
		for _, e := range []string{userEmail, "ada@example.com", "lin@example.com"} {
			if n := countRowsWhere(t, dbURL, "users", "email = '"+e+"'"); n != 1 {
				t.Errorf("%s: %d accounts", e, n)
			}
		}
	})
}

// Every failure ends on Sigil's page with the way back and no session:
// GitHub refusing the code (its 200 {"error": …}), a forged or replayed
// state, a wrong iss, and the stand-in down at the callback or at the
// start (502).
func TestGitHubFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newGitHubFixture(t, dbURL, "none")
		octo := &ghUser{ID: 7, Login: "octo", Emails: ghEmails("new@example.com", true)}
		cb := fx.iss + "/login/upstream/gh/callback"

		fx.gh.setTokenError("bad_verification_code")
		b := newBrowserless(t, fx.iss)
		p := fx.viaGitHub(t, b, b.get(fx.iss+"/login"), octo)
		fx.wantError(t, "bad_verification_code", b, p, http.StatusForbidden)
		fx.gh.setTokenError("")

		b = newBrowserless(t, fx.iss)
		fx.wantError(t, "forged state", b, b.get(cb+"?state=forged&code=x"), http.StatusBadRequest)

		// A real callback with its state changed, then one replayed after
		// it succeeded.
		fx.gh.signIn(octo)
		b = newBrowserless(t, fx.iss)
		at := b.get(fx.start(t, b, b.get(fx.iss+"/login")).Header.Get("Location"))
		back, _ := url.Parse(at.Header.Get("Location"))
		q := back.Query()
		q.Set("state", q.Get("state")+"x")
		wrong := *back
		wrong.RawQuery = q.Encode()
		fx.wantError(t, "wrong state", b, b.get(wrong.String()), http.StatusBadRequest)

		b = newBrowserless(t, fx.iss)
		at = b.get(fx.start(t, b, b.get(fx.iss+"/login")).Header.Get("Location"))
		if p := b.get(at.Header.Get("Location")); p.Status != http.StatusSeeOther || fx.signedInAsEmail(t, b) != "new@example.com" {
			t.Fatalf("callback: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		other := newBrowserless(t, fx.iss)
		fx.wantError(t, "replayed callback", other, other.get(at.Header.Get("Location")), http.StatusBadRequest)

		// An iss on the callback that is not the web base (GitHub sends
		// none; one that is sent must be right).
		b = newBrowserless(t, fx.iss)
		at = b.get(fx.start(t, b, b.get(fx.iss+"/login")).Header.Get("Location"))
		fx.wantError(t, "wrong iss", b, b.get(at.Header.Get("Location")+"&iss="+url.QueryEscape("https://github.com")), http.StatusBadGateway)

		// Down after the browser came back: the code cannot be redeemed.
		b = newBrowserless(t, fx.iss)
		login := b.get(fx.iss + "/login")
		at = b.get(fx.start(t, b, login).Header.Get("Location"))
		fx.gh.srv.Close()
		fx.wantError(t, "GitHub down at the callback", b, b.get(at.Header.Get("Location")), http.StatusBadGateway)
		// Down at the start: seen before the browser is sent there.
		fx.wantError(t, "GitHub down at the start", b, fx.start(t, b, b.get(fx.iss+"/login")), http.StatusBadGateway)

		db := openDB(t, dbURL)
		if n := countEvents(t, db, "upstream.failure"); n != 7 {
			t.Errorf("%d upstream.failure events, want 7", n)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'new@example.com'"); n != 1 {
			t.Errorf("%d accounts for the one successful sign-in", n)
		}
	})
}

// signedInAsEmail is the email the account page shows for the browser's
// session, "" for none.
func (fx *ghFixture) signedInAsEmail(t *testing.T, b *browserless) string {
	t.Helper()
	p := b.get(fx.iss + "/account")
	if p.Status != http.StatusOK {
		return ""
	}
	for _, e := range []string{userEmail, "new@example.com", "ada@example.com"} {
		if strings.Contains(p.Body, e) {
			return e
		}
	}
	return "someone"
}

// An upstream of type github is registered without an issuer
// (github.com, its default scopes, no openid) by the admin API and by
// `sigil upstreams create --type github`; a GitHub Enterprise Server
// keeps its own address.
func TestGitHubUpstreamAdminAndCLI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.adminToken(t)
		st, _, body := s.postJSON(t, "/admin/upstreams", map[string]any{"id": "github", "name": "GitHub", "type": "github",
			"clientId": "Iv1.abc", "clientSecret": "gh-secret-value"}, bearer(admin)...)
		var v struct {
			Issuer, Type, RedirectURI string
			Scopes                    []string
		}
		_ = json.Unmarshal(body, &v)
		if st != http.StatusCreated || v.Issuer != "https://github.com" || v.Type != "github" ||
			strings.Join(v.Scopes, " ") != "read:user user:email" || v.RedirectURI != s.Issuer+"/login/upstream/github/callback" ||
			strings.Contains(string(body), "gh-secret-value") {
			t.Errorf("create github upstream without an issuer: %d %s", st, body)
		}
		st, _, body = s.postJSON(t, "/admin/upstreams", map[string]any{"id": "ghe", "name": "GHE", "type": "github",
			"issuer": "http://github.example.com", "clientId": "c", "clientSecret": "s"}, bearer(admin)...)
		if st != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"issuer"`) {
			t.Errorf("github upstream with a plain http issuer: %d %s", st, body)
		}

		env := s.config()
		out, _, err := runCLI(t, env, "", "upstreams", "create", "--type", "github", "--id", "ghe", "--name", "GitHub Enterprise",
			"--issuer", "https://ghe.example.com/", "--client-id", "Iv1.def", "--client-secret", "another-secret")
		if err != nil || !strings.Contains(out, "redirect uri: "+s.Issuer+"/login/upstream/ghe/callback") {
			t.Fatalf("upstreams create --type github: %v\n%s", err, out)
		}
		out, _, err = runCLI(t, env, "", "upstreams", "list")
		if err != nil || !strings.Contains(out, "ghe") || !strings.Contains(out, "https://ghe.example.com ") ||
			!strings.Contains(out, "https://github.com") || strings.Contains(out, "secret") {
			t.Errorf("upstreams list: %v\n%s", err, out)
		}
		st, _, body = doJSON(t, s, http.MethodGet, "/admin/upstreams/ghe", "", admin)
		if st != http.StatusOK || !strings.Contains(string(body), `"scopes":["read:user","user:email"]`) {
			t.Errorf("the CLI's github upstream: %d %s", st, body)
		}
	})
}
