package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// The account page lists the linked identities; an account without a
// password cannot unlink its only one (409, nothing changed); a signed-in
// user links an identity of another email to their own account after
// giving the password, and later sign-ins through it land on that user;
// an identity of another user is refused; unlinking sends the next
// sign-in through the linking rules again. Every form needs its CSRF
// token.
func TestAccountLinksAndUnlinksUpstreams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "new@example.com", true)
		fx.upUser(t, "elsewhere@example.com", true)
		db := openDB(t, dbURL)

		// An account made through the upstream: no password, one identity.
		nb := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, nb, nb.get(fx.iss+"/login"), "new@example.com"); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in through the upstream: %d\n%.500s", p.Status, p.Body)
		}
		a := nb.get(fx.iss + "/account")
		if !strings.Contains(a.Body, "<h2>Linked accounts</h2>") || !strings.Contains(a.Body, "<strong>Corp SSO</strong> as new@example.com") ||
			strings.Contains(a.Body, `action="/account/upstreams/unlink"`) || !strings.Contains(a.Body, "only way to sign in") {
			t.Errorf("account page of an account without a password:\n%.4000s", a.Body)
		}
		newSub := fx.identityOwner(t, dbURL, "new@example.com")
		if newSub != "new@example.com" {
			t.Fatalf("identity of new@ owned by %q", newSub)
		}
		upNew, _ := openDB(t, fx.upDB).UserByEmail(t.Context(), "new@example.com")
		// Its only way to sign in stays: 409 and nothing removed.
		p := nb.post(fx.iss+"/account/upstreams/unlink", fx.accountForm(t, nb, "upstream", "corp", "subject", upNew.ID))
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "only way to sign in") {
			t.Errorf("unlink of the last way to sign in: %d\n%.800s", p.Status, p.Body)
		}
		// Without the CSRF token: refused, nothing removed.
		f := fx.accountForm(t, nb, "upstream", "corp", "subject", upNew.ID)
		f.Del("csrf_token")
		if p := nb.post(fx.iss+"/account/upstreams/unlink", f); p.Status != http.StatusForbidden {
			t.Errorf("unlink without CSRF: %d", p.Status)
		}
		if fx.identityOwner(t, dbURL, "new@example.com") != "new@example.com" || countEvents(t, db, "upstream.unlinked") != 0 {
			t.Fatalf("a refused unlink changed something")
		}

		// A user with a password links an identity of another email.
		gb := newBrowserless(t, fx.iss)
		if p := gb.signIn(gb.get(fx.iss+"/login"), userEmail, userPassword); p.Status != http.StatusSeeOther {
			t.Fatalf("password sign-in: %d", p.Status)
		}
		a = gb.get(fx.iss + "/account")
		if !strings.Contains(a.Body, `name="upstream" value="corp"`) || !strings.Contains(a.Body, "Link Corp SSO") ||
			!strings.Contains(a.Body, `id="link_password"`) {
			t.Fatalf("no link form on the account page:\n%.4000s", a.Body)
		}
		if csp := a.Header.Get("Content-Security-Policy"); !strings.Contains(csp, fx.upIss) {
			t.Errorf("the CSP's form-action does not allow the upstream: %s", csp)
		}
		f = fx.accountForm(t, gb, "upstream", "corp")
		f.Del("csrf_token")
		f.Set("password", userPassword)
		if p := gb.post(fx.iss+"/account/upstreams/link", f); p.Status != http.StatusForbidden {
			t.Errorf("link without CSRF: %d %s", p.Status, p.Header.Get("Location"))
		}
		if p := gb.post(fx.iss+"/account/upstreams/link", fx.accountForm(t, gb, "upstream", "corp", "password", "wrong password here")); p.Status != http.StatusUnauthorized {
			t.Errorf("link with a wrong password: %d %s", p.Status, p.Header.Get("Location"))
		}
		if p := gb.post(fx.iss+"/account/upstreams/link", fx.accountForm(t, gb, "upstream", "nope", "password", userPassword)); p.Status != http.StatusNotFound {
			t.Errorf("link of an unknown upstream: %d %s", p.Status, p.Header.Get("Location"))
		}
		p = fx.linkAtUpstream(t, gb, fx.accountForm(t, gb, "upstream", "corp", "password", userPassword), "elsewhere@example.com")
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account?done=upstream-linked" {
			t.Fatalf("link: %d %s\n%.800s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if owner := fx.identityOwner(t, dbURL, "elsewhere@example.com"); owner != userEmail {
			t.Fatalf("identity linked to %q, want the signed-in user", owner)
		}
		if n := countRowsWhere(t, dbURL, "users", "email = 'elsewhere@example.com'"); n != 0 {
			t.Errorf("the link created an account for the upstream's email")
		}
		a = gb.get(fx.iss + "/account?done=upstream-linked")
		if !strings.Contains(a.Body, "The account is linked.") || !strings.Contains(a.Body, "<strong>Corp SSO</strong> as elsewhere@example.com") ||
			!strings.Contains(a.Body, `aria-label="Unlink Corp SSO"`) || strings.Contains(a.Body, "Link Corp SSO") {
			t.Errorf("account page after the link:\n%.4000s", a.Body)
		}
		if n := countEventsWhere(t, dbURL, "upstream.linked", "while signed in"); n != 1 {
			t.Errorf("%d upstream.linked events of a link while signed in", n)
		}
		// Linked again (the upstream still has its session): it says so.
		p = fx.linkAtUpstream(t, gb, fx.accountForm(t, gb, "upstream", "corp", "password", userPassword), "elsewhere@example.com")
		if p.Header.Get("Location") != "/account?done=upstream-already-linked" {
			t.Errorf("link again: %d %s", p.Status, p.Header.Get("Location"))
		}
		// A later sign-in through the upstream lands on that user.
		b3 := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b3, b3.get(fx.iss+"/login"), "elsewhere@example.com"); p.Status != http.StatusSeeOther || fx.signedInAs(t, b3) != userEmail {
			t.Errorf("sign-in through the linked identity: %d %s as %q", p.Status, p.Header.Get("Location"), fx.signedInAs(t, b3))
		}

		// An identity linked to another user: refused, nothing changed.
		st, _, body := fx.s.postJSON(t, "/auth/signup", map[string]string{"email": "third@example.com", "password": userPassword})
		if st != http.StatusCreated {
			t.Fatalf("signup: %d %s", st, body)
		}
		tb := newBrowserless(t, fx.iss)
		tb.signIn(tb.get(fx.iss+"/login"), "third@example.com", userPassword)
		p = fx.linkAtUpstream(t, tb, fx.accountForm(t, tb, "upstream", "corp", "password", userPassword), "new@example.com")
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "already linked to another account") || !strings.Contains(p.Body, `href="/account"`) {
			t.Errorf("link of another user's identity: %d\n%.800s", p.Status, p.Body)
		}
		if fx.identityOwner(t, dbURL, "new@example.com") != "new@example.com" || countRowsWhere(t, dbURL, "upstream_identities", "1=1") != 2 {
			t.Errorf("the refused link changed the identities")
		}

		// Unlink: the next sign-in through it goes through the linking
		// rules again (no account of that email: a new one).
		upElse, _ := openDB(t, fx.upDB).UserByEmail(t.Context(), "elsewhere@example.com")
		p = gb.post(fx.iss+"/account/upstreams/unlink", fx.accountForm(t, gb, "upstream", "corp", "subject", upElse.ID))
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/account?done=upstream-unlinked" {
			t.Fatalf("unlink: %d %s\n%.800s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if fx.identityOwner(t, dbURL, "elsewhere@example.com") != "" || countEvents(t, db, "upstream.unlinked") != 1 {
			t.Errorf("unlink left the identity, or was not audited")
		}
		if p := gb.post(fx.iss+"/account/upstreams/unlink", fx.accountForm(t, gb, "upstream", "corp", "subject", upElse.ID)); p.Status != http.StatusNotFound {
			t.Errorf("second unlink: %d", p.Status)
		}
		b4 := newBrowserless(t, fx.iss)
		if p := fx.viaUpstream(t, b4, b4.get(fx.iss+"/login"), "elsewhere@example.com"); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in after the unlink: %d\n%.500s", p.Status, p.Body)
		}
		if owner := fx.identityOwner(t, dbURL, "elsewhere@example.com"); owner != "elsewhere@example.com" ||
			countRowsWhere(t, dbURL, "users", "email = 'elsewhere@example.com'") != 1 {
			t.Errorf("after the unlink the identity signed in to %q", owner)
		}
	})
}

// A link finishes only in the browser that started it, still signed in
// as the user who started it: signed in as someone else meanwhile, the
// callback is refused and nothing is linked to either.
func TestAccountLinkNeedsTheSameSignedInUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fx := newFedFixture(t, dbURL, "none", nil)
		fx.upUser(t, "elsewhere@example.com", true)
		if st, _, body := fx.s.postJSON(t, "/auth/signup", map[string]string{"email": "third@example.com", "password": userPassword}); st != http.StatusCreated {
			t.Fatalf("signup: %d %s", st, body)
		}
		b := newBrowserless(t, fx.iss)
		b.signIn(b.get(fx.iss+"/login"), userEmail, userPassword)
		p := b.post(fx.iss+"/account/upstreams/link", fx.accountForm(t, b, "upstream", "corp", "password", userPassword))
		if p.Status != http.StatusSeeOther {
			t.Fatalf("link start: %d\n%.500s", p.Status, p.Body)
		}
		upLogin := b.get(p.Header.Get("Location"))
		for range 5 {
			if upLogin.Status != http.StatusFound && upLogin.Status != http.StatusSeeOther {
				break
			}
			upLogin = b.get(fx.upIss + upLogin.Header.Get("Location"))
		}
		cb := fx.signInUpstream(t, b, upLogin, "elsewhere@example.com")
		// Meanwhile this browser signs out and in as another user.
		b.post(fx.iss+"/oauth2/logout", fx.accountForm(t, b))
		b.signIn(b.get(fx.iss+"/login"), "third@example.com", userPassword)
		if fx.signedInAs(t, b) == userEmail {
			t.Fatal("still signed in as the user who started the link")
		}
		if p := b.get(cb.Header.Get("Location")); p.Status != http.StatusBadRequest {
			t.Errorf("callback of a link for another signed-in user: %d %s\n%.500s", p.Status, p.Header.Get("Location"), p.Body)
		}
		if owner := fx.identityOwner(t, dbURL, "elsewhere@example.com"); owner != "" {
			t.Errorf("linked to %q", owner)
		}
	})
}
