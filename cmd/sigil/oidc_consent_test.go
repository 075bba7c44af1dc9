package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// Consent: a third-party client's request shows the consent page; denying
// sends access_denied; allowing is remembered for the same scopes and asked
// again for new ones or prompt=consent.
func TestConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := f.signedIn(t)
		p := b.get(f.authorizeURL(f.confID, withPKCE(nil)))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="consent" value="allow"`) || !strings.Contains(p.Body, `name="consent" value="deny"`) {
			t.Fatalf("consent page: %d\n%.400s", p.Status, p.Body)
		}
		form := hidden(p)
		form.Set("consent", "deny")
		f.wantRedirectError(t, "consent denied", b.post(f.iss+"/consent", form), "access_denied")
		// prompt=none still needs consent.
		f.wantRedirectError(t, "prompt=none without consent", b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"prompt": {"none"}}))), "consent_required")

		p = b.get(f.authorizeURL(f.confID, withPKCE(nil)))
		form = hidden(p)
		form.Set("consent", "allow")
		p = b.post(f.iss+"/consent", form)
		if p.Status != http.StatusSeeOther || p.Location().Query().Get("code") == "" {
			t.Fatalf("consent allowed: %d %s", p.Status, p.Header.Get("Location"))
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(nil))); p.Status != http.StatusFound || p.Location().Query().Get("code") == "" {
			t.Errorf("remembered consent: %d", p.Status)
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"scope": {"openid email profile"}}))); p.Status != http.StatusOK || !strings.Contains(p.Body, "profile") {
			t.Errorf("a new scope must ask again: %d", p.Status)
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"prompt": {"consent"}}))); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="allow"`) {
			t.Errorf("prompt=consent must ask again: %d", p.Status)
		}
		// A consent post without its CSRF token changes nothing.
		form.Del("csrf_token")
		if p := b.post(f.iss+"/consent", form); p.Status != http.StatusForbidden {
			t.Errorf("consent without CSRF token: %d", p.Status)
		}

		// The account page lists the consent and takes it back.
		acct := b.get(f.iss + "/account")
		if !strings.Contains(acct.Body, "Wiki") || !strings.Contains(acct.Body, "email, openid") {
			t.Fatalf("account page does not list the consent:\n%.2000s", acct.Body)
		}
		revoke := url.Values{"client_id": {f.confID}}
		if p := b.post(f.iss+"/account/consents/revoke", revoke); p.Status != http.StatusForbidden {
			t.Errorf("revoke without CSRF token: %d", p.Status)
		}
		revoke.Set("csrf_token", hidden(acct).Get("csrf_token"))
		if p := b.post(f.iss+"/account/consents/revoke", revoke); p.Status != http.StatusSeeOther {
			t.Errorf("revoke consent: %d", p.Status)
		}
		if p := b.get(f.authorizeURL(f.confID, withPKCE(nil))); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="allow"`) {
			t.Errorf("after revoking, consent must be asked again: %d", p.Status)
		}
	})
}
