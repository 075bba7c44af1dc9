package main

import (
	"net/http"
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
		op.register(t, fx)
		signIn := func(b *browserless) page {
			t.Helper()
			p := startCorp(t, fx, b)
			if p.Status != http.StatusSeeOther || p.Location().Query().Get("state") == "" {
				t.Fatalf("start: %d %s", p.Status, p.Header.Get("Location"))
			}
			return b.get(op.callbackURL(fx, p))
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
