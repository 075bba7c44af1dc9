package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// accountForm is a post of the account page with its CSRF token and
// the given fields.
func (fx *fedFixture) accountForm(t *testing.T, b *browserless, kv ...string) url.Values {
	t.Helper()
	a := b.get(fx.iss + "/account")
	if a.Status != http.StatusOK {
		t.Fatalf("account page: %d %s", a.Status, a.Header.Get("Location"))
	}
	f := url.Values{"csrf_token": {hidden(a).Get("csrf_token")}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// linkAtUpstream posts the account page's "Link Corp SSO" with f, signs
// in at the upstream as email (unless signed in there already) and
// returns Sigil's answer to the callback.
func (fx *fedFixture) linkAtUpstream(t *testing.T, b *browserless, f url.Values, email string) page {
	t.Helper()
	p := b.post(fx.iss+"/account/upstreams/link", f)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), fx.upIss+"/oauth2/authorize?") {
		t.Fatalf("link start: %d %s\n%.800s", p.Status, p.Header.Get("Location"), p.Body)
	}
	p = b.get(p.Header.Get("Location"))
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
	cb := fx.signInUpstream(t, b, p, email)
	return b.get(cb.Header.Get("Location"))
}

// identityOwner returns the email of the account the upstream identity
// of the upstream user upEmail is linked to, "" for none.
func (fx *fedFixture) identityOwner(t *testing.T, dbURL, upEmail string) string {
	t.Helper()
	db := openDB(t, dbURL)
	up := openDB(t, fx.upDB)
	upUser, err := up.UserByEmail(t.Context(), upEmail)
	if err != nil {
		t.Fatal(err)
	}
	idn, err := db.IdentityBySubject(t.Context(), "corp", upUser.ID)
	if err != nil {
		return ""
	}
	u, err := db.UserByID(t.Context(), idn.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Email
}
