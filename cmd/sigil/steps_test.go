package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store/storetest"
)

// withPKCE adds a PKCE challenge to an authorization request's extra
// parameters.
func withPKCE(extra url.Values) url.Values {
	_, challenge := pkce()
	q := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// forgeConsent posts a page's hidden fields to /consent as an "allow".
func forgeConsent(b *browserless, iss string, p page) page {
	f := hidden(p)
	f.Set("consent", "allow")
	return b.post(iss+"/consent", f)
}

// wantNoCode checks that a post issued no code: no redirect carrying one.
func wantNoCode(t *testing.T, what string, p page, wantPage string) {
	t.Helper()
	if p.Location() != nil && p.Location().Query().Has("code") {
		t.Errorf("%s: a code was issued (%d %s)", what, p.Status, p.Header.Get("Location"))
		return
	}
	if p.Status != http.StatusOK || !strings.Contains(p.Body, wantPage) {
		t.Errorf("%s: %d, want a page with %s\n%.400s", what, p.Status, wantPage, p.Body)
	}
}

// Every hosted step decides the whole request again: the hidden fields of
// a sign-in page that prompt=login, max_age=0, a requireMfa client or
// acr_values=mfa asked for, posted to /consent as an "allow", issue no code
// and show the sign-in page again; nor does a consent page posted after
// its user was locked, or with the ticket of another session, request or
// step. The legitimate paths still issue codes. On both stores.
func TestEveryHostedStepReDecides(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		// The key is given on both stores, so the test can seal a ticket.
		env := browserEnv(t, dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "test:" + testKEK})
		f := newOIDCFixtureEnv(t, env, startServerClock(t, env, clock.Now))
		mfaID, _ := f.s.oidcClient(t, f.admin, map[string]any{"name": "Vault", "redirectUris": []string{f.redirect}, "requireMfa": true})
		const password = `name="password"`

		b := f.signedIn(t) // the password alone
		clock.Add(2 * time.Second)
		for _, tc := range []struct {
			name   string
			client string
			extra  url.Values
		}{
			{"prompt=login", f.confID, url.Values{"prompt": {"login"}}},
			{"max_age=0", f.confID, url.Values{"max_age": {"0"}}},
			{"first-party prompt=login", f.pubID, url.Values{"prompt": {"login"}}},
		} {
			login := b.get(f.authorizeURL(tc.client, withPKCE(tc.extra)))
			if login.Status != http.StatusOK || !strings.Contains(login.Body, password) {
				t.Fatalf("%s: %d, want the sign-in page\n%.300s", tc.name, login.Status, login.Body)
			}
			wantNoCode(t, tc.name+": its sign-in page posted as consent", forgeConsent(b, f.iss, login), password)
		}

		// The legitimate prompt=login path: sign in, then consent, which
		// counts the sign-in as fresh for this request only.
		login := b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"prompt": {"login"}})))
		consent := b.signIn(login, userEmail, userPassword)
		if consent.Status != http.StatusOK || !strings.Contains(consent.Body, `value="allow"`) {
			t.Fatalf("prompt=login sign-in: %d, want the consent page\n%.300s", consent.Status, consent.Body)
		}
		if p := forgeConsent(b, f.iss, consent); p.Status != http.StatusSeeOther || !p.Location().Query().Has("code") {
			t.Fatalf("prompt=login consent: %d %s, want a code\n%.300s", p.Status, p.Header.Get("Location"), p.Body)
		}

		// Tickets bind the page to its request, its session and its step.
		b2 := f.signedIn(t)
		other := url.Values{"scope": {"openid email profile"}}
		page1 := b.get(f.authorizeURL(f.confID, withPKCE(other)))
		page2 := b2.get(f.authorizeURL(f.confID, withPKCE(other)))
		if !strings.Contains(page1.Body, `value="allow"`) || !strings.Contains(page2.Body, `value="allow"`) {
			t.Fatalf("consent pages: %d %d", page1.Status, page2.Status)
		}
		// Another session's ticket.
		forged := hidden(page2)
		forged.Set("step", hidden(page1).Get("step"))
		forged.Set("consent", "allow")
		wantNoCode(t, "the ticket of another session", b2.post(f.iss+"/consent", forged), `value="allow"`)
		// Another request's ticket (the same session).
		forged = hidden(page2)
		forged.Set("authz", hidden(b2.get(f.authorizeURL(f.confID, withPKCE(other)))).Get("authz"))
		forged.Set("consent", "allow")
		wantNoCode(t, "the ticket of another request", b2.post(f.iss+"/consent", forged), `value="allow"`)
		// No ticket, and a ticket of another step sealed with the
		// server's own key.
		forged = hidden(page2)
		forged.Del("step")
		forged.Set("consent", "allow")
		wantNoCode(t, "no ticket", b2.post(f.iss+"/consent", forged), `value="allow"`)
		forged.Set("step", sealTicket(t, env, "login", ticketOf(t, env, hidden(page2).Get("step"))))
		wantNoCode(t, "the ticket of another step", b2.post(f.iss+"/consent", forged), `value="allow"`)
		// The page itself still works.
		if p := forgeConsent(b2, f.iss, page2); !p.Location().Query().Has("code") {
			t.Fatalf("consent: %d %s, want a code", p.Status, p.Header.Get("Location"))
		}

		// A second factor enrolled since this password-only sign-in:
		// requireMfa and acr_values=mfa send it back to sign in.
		user := f.s.login(t, userEmail, userPassword)
		secret, _ := enrolTOTP(t, f.s, user.Token, userPassword, clock)
		for _, tc := range []struct {
			name   string
			client string
			extra  url.Values
		}{
			{"requireMfa", mfaID, nil},
			{"acr_values=mfa", f.confID, url.Values{"acr_values": {"urn:sigil:acr:mfa"}, "scope": {"openid"}}},
		} {
			login := b.get(f.authorizeURL(tc.client, withPKCE(tc.extra)))
			if login.Status != http.StatusOK || !strings.Contains(login.Body, password) {
				t.Fatalf("%s: %d, want the sign-in page\n%.300s", tc.name, login.Status, login.Body)
			}
			wantNoCode(t, tc.name+": its sign-in page posted as consent", forgeConsent(b, f.iss, login), password)
			// The second-factor page's fields as consent: no code either.
			step := b.signIn(login, userEmail, userPassword)
			if !strings.Contains(step.Body, `name="mfa_token"`) {
				t.Fatalf("%s: no second-factor step\n%.300s", tc.name, step.Body)
			}
			wantNoCode(t, tc.name+": its second-factor page posted as consent", forgeConsent(b, f.iss, step), password)
		}
		// The legitimate requireMfa path: password, code, consent.
		step := b.signIn(b.get(f.authorizeURL(mfaID, withPKCE(nil))), userEmail, userPassword)
		form := hidden(step)
		clock.Add(30 * time.Second)
		form.Set("code", totpCode(t, secret, clock.Now()))
		consent = b.post(f.iss+"/login/mfa", form)
		if consent.Status != http.StatusOK || !strings.Contains(consent.Body, `value="allow"`) {
			t.Fatalf("requireMfa after the second factor: %d, want the consent page\n%.300s", consent.Status, consent.Body)
		}
		if p := forgeConsent(b, f.iss, consent); !p.Location().Query().Has("code") {
			t.Fatalf("requireMfa consent: %d %s, want a code", p.Status, p.Header.Get("Location"))
		}

		// A consent page shown before its user was locked issues nothing
		// after.
		page1 = b.get(f.authorizeURL(f.confID, withPKCE(url.Values{"prompt": {"consent"}})))
		if !strings.Contains(page1.Body, `value="allow"`) {
			t.Fatalf("consent page: %d\n%.300s", page1.Status, page1.Body)
		}
		st, _, body := f.s.send(t, http.MethodPost, "/admin/users/"+user.UserID+"/lock", nil, bearer(f.admin)...)
		wantStatus(t, "lock", st, body, http.StatusNoContent)
		p := forgeConsent(b, f.iss, page1)
		if p.Location() != nil && p.Location().Query().Has("code") {
			t.Errorf("locked user: a code was issued (%d %s)", p.Status, p.Header.Get("Location"))
		}
	})
}

// ticketOf opens a page's step ticket with the test server's key.
func ticketOf(t *testing.T, env map[string]string, sealed string) map[string]any {
	t.Helper()
	s, err := keys.ParseKEKs(env["SIGIL_KEY_ENCRYPTION_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Open("authorize-step", sealed)
	if err != nil {
		t.Fatalf("open the step ticket: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sealTicket seals ticket as one of step with the test server's key.
func sealTicket(t *testing.T, env map[string]string, step string, ticket map[string]any) string {
	t.Helper()
	s, err := keys.ParseKEKs(env["SIGIL_KEY_ENCRYPTION_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	ticket["s"] = step
	b, _ := json.Marshal(ticket)
	sealed, err := s.Seal("authorize-step", b)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}
