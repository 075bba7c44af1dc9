package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// wantFreshAsk checks that the start of a sign-in at the upstream, p,
// asks the upstream for a new sign-in (prompt=login, max_age=0), or
// does not when fresh is false.
func wantFreshAsk(t *testing.T, what string, p page, fresh bool) {
	t.Helper()
	q := p.Location().Query()
	if p.Status != http.StatusSeeOther || q.Get("state") == "" {
		t.Fatalf("%s: start %d %s\n%.500s", what, p.Status, p.Header.Get("Location"), p.Body)
	}
	asked := q.Get("prompt") == "login" && q.Get("max_age") == "0"
	if asked != fresh || (!fresh && (q.Has("prompt") || q.Has("max_age"))) {
		t.Errorf("%s: prompt %q max_age %q, want a new sign-in asked: %t", what, q.Get("prompt"), q.Get("max_age"), fresh)
	}
}

// signInAgain posts the account page's "Sign in again with Corp SSO",
// which must bring the upstream's own sign-in page even though the
// browser is signed in there; it signs in there as email and returns
// where Sigil's callback leads (redirects followed).
func (fx *fedFixture) signInAgain(t *testing.T, b *browserless, email string) page {
	t.Helper()
	start := b.post(fx.iss+"/login/upstream", fx.accountForm(t, b, "upstream", "corp"))
	wantFreshAsk(t, "sign in again", start, true)
	up := fx.follow(b, start, fx.iss+"/login/upstream")
	if up.Status != http.StatusOK || !strings.Contains(up.Body, `name="password"`) || !strings.Contains(up.Body, "to continue to <strong>Sigil downstream</strong>") {
		t.Fatalf("sign in again: the upstream did not ask for the password: %d %s\n%.2000s", up.Status, up.Header.Get("Location"), up.Body)
	}
	cb := fx.signInUpstream(t, b, up, email)
	return fx.follow(b, b.get(cb.Header.Get("Location")), cb.Header.Get("Location"))
}

// With a session still alive at the upstream, "Sign in again" and a
// link from the account page ask the upstream for a new sign-in: its
// password page appears, and once it is given the sign-in at Sigil is
// recent again. A sign-in of a browser not signed in at Sigil is still
// answered by the upstream's session (single sign-on), no password.
func TestUpstreamSignInAgainAsksTheUpstream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		fx := newFedFixtureClock(t, dbURL, "none", nil, clock.Now)
		const email = "new@example.com"
		fx.upUser(t, email, true)
		b := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b, b.get(fx.iss+"/login"), email); p.Status != http.StatusSeeOther || fx.signedInAs(t, b) != email {
			t.Fatalf("first sign-in: %d\n%.500s", p.Status, p.Body)
		}

		// Single sign-on: another browser with only the upstream's
		// session signs in at Sigil without a password.
		sso := newBrowserless(t, fx.iss)
		upURL, _ := url.Parse(fx.upIss)
		sso.c.Jar.SetCookies(upURL, b.c.Jar.Cookies(upURL))
		login := sso.get(fx.iss + "/login")
		f := hidden(login)
		f.Set("upstream", "corp")
		wantFreshAsk(t, "single sign-on", sso.post(fx.iss+"/login/upstream", f), false)
		back, at := fx.startUpstream(t, sso, sso.get(fx.iss+"/login"))
		if !strings.HasPrefix(back.Header.Get("Location"), fx.iss+"/login/upstream/corp/callback") {
			t.Fatalf("single sign-on asked the upstream's password (%s): %d %s\n%.1000s", at, back.Status, back.Header.Get("Location"), back.Body)
		}
		if p := sso.get(back.Header.Get("Location")); p.Status != http.StatusSeeOther || fx.signedInAs(t, sso) != email {
			t.Fatalf("single sign-on: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}

		clock.Add(authority.RecentSignIn + time.Minute)
		if a := b.get(fx.iss + "/account"); !strings.Contains(a.Body, ">Sign in again with Corp SSO</button>") {
			t.Fatalf("account page of a stale sign-in:\n%.4000s", a.Body)
		}
		a := fx.signInAgain(t, b, email)
		if a.Status != http.StatusOK || !strings.Contains(a.Body, "<h1>Your account</h1>") || strings.Contains(a.Body, "Sign in again with") {
			t.Fatalf("after signing in again at the upstream: %d\n%.3000s", a.Status, a.Body)
		}
		if p := b.post(fx.iss+"/account/passkeys/begin", fx.accountForm(t, b)); p.Status != http.StatusOK || !strings.Contains(p.Body, "ceremonyId") {
			t.Errorf("passkey begin after signing in again: %d %s", p.Status, p.Body)
		}

		// A link from the account page is a re-authentication too.
		wantFreshAsk(t, "link", b.post(fx.iss+"/account/upstreams/link", fx.accountForm(t, b, "upstream", "corp")), true)
	})
}

// An upstream that ignores prompt=login and max_age and answers a
// re-authentication with an old auth_time, or none, is refused: a page
// that says so (401), an audit event, the failed_not_fresh outcome, and
// the session's sign-in time is not renewed. One whose auth_time is now
// renews it. Its first sign-in, not a re-authentication, needs none.
func TestUpstreamSignInAgainRefusesAnOldSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := &testClock{t: time.Now()}
		env := browserEnv(t, dbURL, nil)
		fx := &fedFixture{oidcFixture: newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))}
		op := newFakeOP(t)
		op.register(t, fx)
		// callback is where the fake upstream sends the browser back
		// from the start p, without asking anything.
		callback := func(b *browserless, p page) page {
			t.Helper()
			return b.get(op.callbackURL(fx, p))
		}
		b := newBrowserless(t, fx.iss)
		start := startCorp(t, fx, b)
		wantFreshAsk(t, "first sign-in", start, false)
		if p := callback(b, start); p.Status != http.StatusSeeOther || !strings.Contains(b.get(fx.iss+"/account").Body, "fake@example.com") {
			t.Fatalf("first sign-in without auth_time: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}

		clock.Add(authority.RecentSignIn + time.Minute)
		signins := func() float64 {
			return metricValue(t, fx.s, `sigil_upstream_signins_total{outcome="failed_not_fresh",upstream="corp"}`)
		}
		for i, mode := range []string{"auth-time-old", "good"} {
			op.mode.Store(mode)
			start := b.post(fx.iss+"/login/upstream", fx.accountForm(t, b, "upstream", "corp"))
			wantFreshAsk(t, mode, start, true)
			p := callback(b, start)
			if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "did not ask you to sign in again") || !strings.Contains(p.Body, "Back to sign in") {
				t.Errorf("%s: %d\n%.1500s", mode, p.Status, p.Body)
			}
			if a := b.get(fx.iss + "/account"); a.Status != http.StatusOK || !strings.Contains(a.Body, ">Sign in again with Corp SSO</button>") {
				t.Errorf("%s: the sign-in time was renewed (account page %d)", mode, a.Status)
			}
			if p := b.post(fx.iss+"/account/delete", fx.accountForm(t, b, "confirm", "yes")); p.Status != http.StatusUnauthorized {
				t.Errorf("%s: delete after a refused re-authentication: %d", mode, p.Status)
			}
			if n := signins(); n != float64(i+1) {
				t.Errorf("%s: failed_not_fresh %v, want %d", mode, n, i+1)
			}
		}
		if n := countEventsWhere(t, dbURL, "upstream.failure", "did not sign the user in again"); n != 2 {
			t.Errorf("%d audit events of refused re-authentications, want 2", n)
		}

		op.mode.Store("auth-time-now")
		if p := callback(b, b.post(fx.iss+"/login/upstream", fx.accountForm(t, b, "upstream", "corp"))); p.Status != http.StatusSeeOther {
			t.Fatalf("re-authentication with a new auth_time: %d\n%.1000s", p.Status, p.Body)
		}
		if a := b.get(fx.iss + "/account"); a.Status != http.StatusOK || strings.Contains(a.Body, "Sign in again with") {
			t.Errorf("the sign-in time was not renewed by a new sign-in at the upstream:\n%.3000s", a.Body)
		}
	})
}
