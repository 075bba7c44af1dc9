package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// An OpenID Provider whose ID token carries no email: Sigil reads email,
// email_verified (sent as a string here) and name from its userinfo
// endpoint with the access token, only when userinfo's sub is the ID
// token's; a userinfo endpoint that is down is a 502 page.
func TestUpstreamEmailFromUserinfo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := &fedFixture{oidcFixture: newOIDCFixture(t, dbURL, nil)}
		op := newFakeOP(t)
		if st, _, body := fx.s.postJSON(t, "/admin/upstreams", map[string]any{"id": "corp", "name": "Corp SSO", "type": "oidc",
			"issuer": op.srv.URL, "clientId": "sigil", "clientSecret": "secret"}, bearer(fx.admin)...); st != http.StatusCreated {
			t.Fatalf("create upstream: %d %s", st, body)
		}
		signIn := func(b *browserless) page {
			t.Helper()
			f := hidden(b.get(fx.iss + "/login"))
			f.Set("upstream", "corp")
			p := b.post(fx.iss+"/login/upstream", f)
			q := p.Location().Query()
			if p.Status != http.StatusSeeOther || q.Get("state") == "" {
				t.Fatalf("start: %d %s", p.Status, p.Header.Get("Location"))
			}
			op.mu.Lock()
			op.nonce = q.Get("nonce")
			op.mu.Unlock()
			return b.get(fx.iss + "/login/upstream/corp/callback?" + url.Values{"code": {"c"}, "state": {q.Get("state")}}.Encode())
		}
		for mode, status := range map[string]int{"userinfo-other-sub": http.StatusBadGateway, "userinfo-down": http.StatusBadGateway} {
			op.mode.Store(mode)
			b := newBrowserless(t, fx.iss)
			fx.wantUpstreamError(t, mode, b, signIn(b), status)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'info@example.com'"); n != 0 {
			t.Fatalf("a failed sign-in created an account")
		}
		op.mode.Store("no-email")
		b := newBrowserless(t, fx.iss)
		if p := signIn(b); p.Status != http.StatusSeeOther {
			t.Fatalf("email from userinfo: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		u, err := openDB(t, dbURL).UserByEmail(t.Context(), "info@example.com")
		if err != nil || !u.EmailVerified || u.Name != "From Userinfo" {
			t.Errorf("account from userinfo: %+v %v", u, err)
		}
		if n := countRowsWhere(t, dbURL, "upstream_identities", "upstream_id = 'corp' AND subject = 'fake-1'"); n != 1 {
			t.Errorf("%d identities of fake-1", n)
		}
	})
}
