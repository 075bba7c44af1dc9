package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

// RP-initiated logout without an id_token_hint asks for confirmation; the
// confirmation signs out and returns to a registered URI; an unregistered
// URI is never redirected to.
func TestLogoutConfirmation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newOIDCFixture(t, dbURL, nil)
		b := f.signedIn(t)
		wantErrorPage(t, "unregistered post-logout URI", b.get(f.iss+"/oauth2/logout?"+url.Values{"client_id": {f.confID}, "post_logout_redirect_uri": {"http://127.0.0.1:9/evil"}}.Encode()))
		wantErrorPage(t, "post-logout URI without a client", b.get(f.iss+"/oauth2/logout?"+url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}}.Encode()))
		wantErrorPage(t, "forged id_token_hint", b.get(f.iss+"/oauth2/logout?id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."))

		p := b.get(f.iss + "/oauth2/logout?" + url.Values{"client_id": {f.confID}, "post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s9"}}.Encode())
		if p.Status != http.StatusOK || strings.Count(p.Body, `type="submit"`) != 1 {
			t.Fatalf("confirmation page: %d\n%.300s", p.Status, p.Body)
		}
		if b.get(f.iss+"/account").Status != http.StatusOK {
			t.Fatal("showing the confirmation page signed out")
		}
		done := b.post(f.iss+"/oauth2/logout", hidden(p))
		if done.Status != http.StatusSeeOther || done.Header.Get("Location") != "http://127.0.0.1:9/bye?state=s9" {
			t.Fatalf("confirmed logout: %d %s", done.Status, done.Header.Get("Location"))
		}
		if p := b.get(f.iss + "/account"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
			t.Errorf("account after logout: %d %s", p.Status, p.Header.Get("Location"))
		}
		if n := countRowsWhere(t, dbURL, "browser_sessions", "revoked_at IS NULL"); n != 0 {
			t.Errorf("%d live sessions after logout", n)
		}
	})
}
