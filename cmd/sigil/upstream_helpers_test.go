package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// fedFixture is two Sigils: up, an OpenID Provider with users of its own
// (on 127.0.0.1, so that the cookies of the two servers never mix), and
// down (the oidcFixture's server, on localhost) with up registered as
// the upstream "corp".
type fedFixture struct {
	*oidcFixture
	up      *server
	upIss   string
	upAdmin string
	upDB    string
	// clientID and secret are Sigil's client at the upstream.
	clientID, secret string
}

const upstreamPassword = "upstream password 123"

func newFedFixture(t *testing.T, dbURL, linking string, extra map[string]string) *fedFixture {
	t.Helper()
	return newFedFixtureClock(t, dbURL, linking, extra, nil)
}

// newFedFixtureClock is newFedFixture with the downstream's clock set to
// now (the upstream keeps the real one).
func newFedFixtureClock(t *testing.T, dbURL, linking string, extra map[string]string, now func() time.Time) *fedFixture {
	t.Helper()
	upDB := storetest.SQLiteURL(t)
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	upIss := "http://127.0.0.1:" + port
	up := startServer(t, adminEnv(upDB, map[string]string{"SIGIL_ADDR": addr, "SIGIL_ISSUER": upIss}))
	env := browserEnv(t, dbURL, extra)
	fx := &fedFixture{oidcFixture: newOIDCFixtureEnv(t, env, startServerClock(t, env, now)), up: up, upIss: upIss, upAdmin: up.adminToken(t), upDB: upDB}
	id, secret := up.oidcClient(t, fx.upAdmin, map[string]any{"name": "Sigil downstream", "firstParty": true,
		"redirectUris": []string{fx.iss + "/login/upstream/corp/callback"}})
	st, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "corp", "name": "Corp SSO", "type": "oidc",
		"issuer": upIss, "clientId": id, "clientSecret": secret, "scopes": []string{"openid", "email", "profile"}, "linking": linking},
		bearer(fx.admin)...)
	if st != http.StatusCreated {
		t.Fatalf("create upstream: %d %s", st, body)
	}
	fx.clientID, fx.secret = id, secret
	return fx
}

// upUser creates a user at the upstream, its email verified or not.
func (fx *fedFixture) upUser(t *testing.T, email string, verified bool) {
	t.Helper()
	st, _, body := fx.up.postJSON(t, "/auth/signup", map[string]string{"email": email, "password": upstreamPassword, "name": "Up User"})
	if st != http.StatusCreated {
		t.Fatalf("upstream signup: %d %s", st, body)
	}
	if verified {
		setVerified(t, fx.upDB, email)
	}
}

// setVerified marks an account's email verified in the database at dbURL.
func setVerified(t *testing.T, dbURL, email string) {
	t.Helper()
	db := openDB(t, dbURL)
	u, err := db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetEmailVerified(context.Background(), u.ID, email, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// follow follows redirects between the two servers and returns the first
// page that is not one, or a redirect elsewhere (a relying party).
func (fx *fedFixture) follow(b *browserless, p page, base string) page {
	b.t.Helper()
	for range 20 {
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
			return p
		}
		next, err := url.Parse(base)
		if err != nil {
			b.t.Fatal(err)
		}
		next = next.ResolveReference(p.Location())
		if !strings.HasPrefix(next.String(), fx.iss) && !strings.HasPrefix(next.String(), fx.upIss) {
			return p
		}
		base = next.String()
		p = b.get(base)
	}
	b.t.Fatal("too many redirects")
	return p
}

// startUpstream posts the sign-in page's "Continue with Corp SSO" and
// follows to the upstream's sign-in page.
func (fx *fedFixture) startUpstream(t *testing.T, b *browserless, login page) (page, string) {
	t.Helper()
	if !strings.Contains(login.Body, `name="upstream" value="corp"`) || !strings.Contains(login.Body, "Continue with Corp SSO") {
		t.Fatalf("no upstream button on the sign-in page (%d):\n%.2000s", login.Status, login.Body)
	}
	f := hidden(login)
	f.Set("upstream", "corp")
	p := b.post(fx.iss+"/login/upstream", f)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), fx.upIss+"/oauth2/authorize?") {
		t.Fatalf("start: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
	}
	q := p.Location().Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Errorf("authorization request at the upstream without PKCE, state or nonce: %s", p.Header.Get("Location"))
	}
	at := p.Header.Get("Location")
	// Follow at the upstream only: with a session there already, it
	// sends the browser straight back to the callback.
	p = b.get(at)
	for range 10 {
		loc := p.Header.Get("Location")
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther || strings.HasPrefix(loc, fx.iss) {
			break
		}
		if strings.HasPrefix(loc, "/") {
			loc = fx.upIss + loc
		}
		p = b.get(loc)
	}
	return p, at
}

// signInUpstream signs in at the upstream's page and returns the
// redirect to Sigil's callback (not followed).
func (fx *fedFixture) signInUpstream(t *testing.T, b *browserless, upLogin page, email string) page {
	t.Helper()
	if strings.HasPrefix(upLogin.Header.Get("Location"), fx.iss+"/login/upstream/corp/callback") {
		return upLogin // signed in at the upstream already
	}
	ub := &browserless{t: t, c: b.c, origin: fx.upIss}
	f := hidden(upLogin)
	f.Set("email", email)
	f.Set("password", upstreamPassword)
	p := ub.post(fx.upIss+"/login", f)
	for range 10 {
		loc := p.Header.Get("Location")
		if strings.HasPrefix(loc, fx.iss+"/login/upstream/corp/callback") {
			return p
		}
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
			break
		}
		if strings.HasPrefix(loc, "/") {
			loc = fx.upIss + loc
		}
		p = ub.get(loc)
	}
	t.Fatalf("the upstream did not send the browser back to the callback: %d %s\n%.3000s", p.Status, p.Header.Get("Location"), p.Body)
	return p
}

// viaUpstream runs a whole sign-in through the upstream from Sigil's
// sign-in page and returns Sigil's answer to the callback.
func (fx *fedFixture) viaUpstream(t *testing.T, b *browserless, login page, email string) page {
	t.Helper()
	upLogin, _ := fx.startUpstream(t, b, login)
	cb := fx.signInUpstream(t, b, upLogin, email)
	return b.get(cb.Header.Get("Location"))
}

// wantUpstreamError checks the page of a failed upstream sign-in: the
// status, a way back to the sign-in page, and no session.
func (fx *fedFixture) wantUpstreamError(t *testing.T, what string, b *browserless, p page, status int) {
	t.Helper()
	if p.Status != status || !strings.Contains(p.Body, `href="/login`) || !strings.Contains(p.Body, "Back to sign in") {
		t.Errorf("%s: %d, want %d with a way back to the sign-in page\n%.800s", what, p.Status, status, p.Body)
	}
	if a := b.get(fx.iss + "/account"); a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/login" {
		t.Errorf("%s: a session was opened (account page %d %s)", what, a.Status, a.Header.Get("Location"))
	}
}

// accountEmail returns the email the account page shows for the
// browser's session, "" for none.
func (fx *fedFixture) signedInAs(t *testing.T, b *browserless) string {
	t.Helper()
	p := b.get(fx.iss + "/account")
	if p.Status != http.StatusOK {
		return ""
	}
	for _, e := range []string{userEmail, "new@example.com", "grace@example.com"} {
		if strings.Contains(p.Body, e) {
			return e
		}
	}
	return fmt.Sprintf("someone (%d bytes)", len(p.Body))
}
