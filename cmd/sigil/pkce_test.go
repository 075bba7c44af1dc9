package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// PKCE is required of confidential clients too (OAuth 2.1): a request
// without code_challenge gets invalid_request unless the client was
// registered with pkceOptional, which the admin API lists and a public
// client may not have. A confidential client's flow with PKCE and an
// opted-out client's flow without both still issue codes that redeem. On
// both stores.
func TestPKCERequiredForConfidentialClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		optID, optSecret := f.s.oidcClient(t, f.admin, map[string]any{"name": "Legacy", "redirectUris": []string{f.redirect},
			"firstParty": true, "pkceOptional": true})
		strictID, strictSecret := f.s.oidcClient(t, f.admin, map[string]any{"name": "Strict", "redirectUris": []string{f.redirect},
			"firstParty": true})
		st, _, body := f.s.postJSON(t, "/admin/clients", map[string]any{"name": "SPA", "redirectUris": []string{f.redirect},
			"public": true, "pkceOptional": true}, bearer(f.admin)...)
		if st != http.StatusUnprocessableEntity || !strings.Contains(string(body), "pkceOptional") {
			t.Errorf("public client with pkceOptional: %d %s, want 422 naming pkceOptional", st, body)
		}
		st, _, body = f.s.get(t, "/admin/clients", bearer(f.admin)...)
		if st != http.StatusOK || !strings.Contains(string(body), `"clientId":"`+optID+`"`) {
			t.Fatalf("list clients: %d %s", st, body)
		}
		var list struct {
			Clients []struct {
				ClientID     string `json:"clientId"`
				PKCEOptional *bool  `json:"pkceOptional"`
			} `json:"clients"`
		}
		decode(t, body, &list)
		for _, c := range list.Clients {
			if c.PKCEOptional == nil || *c.PKCEOptional != (c.ClientID == optID) {
				t.Errorf("client %s: pkceOptional %v, want it listed, true only for %s", c.ClientID, c.PKCEOptional != nil && *c.PKCEOptional, optID)
			}
		}

		b := f.signedIn(t)
		for _, id := range []string{strictID, f.confID} {
			f.wantRedirectError(t, "confidential client without PKCE", b.get(f.authorizeURL(id, nil)), "invalid_request")
		}

		redeem := func(what, id, secret, code string, form url.Values) {
			t.Helper()
			form.Set("grant_type", "authorization_code")
			form.Set("code", code)
			form.Set("redirect_uri", f.redirect)
			if st, _, body := f.s.postForm(t, "/oauth2/token", form, basic(id, secret)...); st != http.StatusOK {
				t.Errorf("%s: exchange %d %s", what, st, body)
			}
		}
		p := b.get(f.authorizeURL(optID, nil))
		code := p.Location().Query().Get("code")
		if code == "" {
			t.Fatalf("opted-out client without PKCE: %d %s", p.Status, p.Header.Get("Location"))
		}
		redeem("opted-out client without PKCE", optID, optSecret, code, url.Values{})

		verifier, challenge := pkce()
		p = b.get(f.authorizeURL(strictID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
		code = p.Location().Query().Get("code")
		if code == "" {
			t.Fatalf("confidential client with PKCE: %d %s", p.Status, p.Header.Get("Location"))
		}
		redeem("confidential client with PKCE", strictID, strictSecret, code, url.Values{"code_verifier": {verifier}})
	})
}
