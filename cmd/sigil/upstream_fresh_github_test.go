package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// GitHub cannot be asked for a new sign-in: "Sign in again with GitHub"
// sends neither prompt nor max_age, GitHub's session answers it, and it
// renews the sign-in time, as docs/upstreams.md says; the account page
// says so beside the button.
func TestGitHubSignInAgainIsAnsweredByItsSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		env := browserEnv(t, dbURL, nil)
		fx := &ghFixture{oidcFixture: newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))}
		fx.gh = newFakeGitHub(t, fx.iss+"/login/upstream/gh/callback")
		if st, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "gh", "name": "GitHub", "type": "github",
			"issuer": fx.gh.srv.URL, "clientId": fx.gh.clientID, "clientSecret": fx.gh.secret}, bearer(fx.admin)...); st != http.StatusCreated {
			t.Fatalf("create the github upstream: %d %s", st, body)
		}
		octo := &ghUser{ID: 4242, Login: "octo", Name: "Octo Cat", Emails: ghEmails("new@example.com", true)}
		b := newBrowserless(t, fx.iss)
		if p := fx.viaGitHub(t, b, b.get(fx.iss+"/login"), octo); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in through GitHub: %d\n%.500s", p.Status, p.Body)
		}
		clock.Add(authority.RecentSignIn + time.Minute)
		a := b.get(fx.iss + "/account")
		if !strings.Contains(a.Body, ">Sign in again with GitHub</button>") || !strings.Contains(a.Body, "GitHub cannot be asked to sign you in again") {
			t.Fatalf("account page of a stale GitHub sign-in:\n%.5000s", a.Body)
		}
		form := (&fedFixture{oidcFixture: fx.oidcFixture}).accountForm(t, b, "upstream", "gh")
		start := b.post(fx.iss+"/login/upstream", form)
		if q := start.Location().Query(); start.Status != http.StatusSeeOther || q.Has("prompt") || q.Has("max_age") {
			t.Fatalf("sign in again with GitHub: %d %s", start.Status, start.Header.Get("Location"))
		}
		at := b.get(start.Header.Get("Location"))
		if p := b.get(at.Header.Get("Location")); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account" {
			t.Fatalf("callback of signing in again with GitHub: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if a := b.get(fx.iss + "/account"); strings.Contains(a.Body, "Sign in again with") {
			t.Errorf("signing in again with GitHub did not renew the sign-in time")
		}
	})
}
