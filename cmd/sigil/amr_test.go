package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// refreshed refreshes rt and returns the new pair.
func refreshed(t *testing.T, s *server, rt string) loginResult {
	t.Helper()
	st, _, b := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": rt})
	if st != http.StatusOK {
		t.Fatalf("refresh: %d %s", st, b)
	}
	var r loginResult
	decode(t, b, &r)
	return r
}

// Access tokens from refreshing say how the user signed in when the
// family started, through every rotation: the password alone, the
// password and a TOTP code, a passkey alone. On both stores.
func TestRefreshedTokensKeepTheSignInAMR(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		env := browserEnv(t, dbURL, nil)
		s := startServerClock(t, env, clock.Now)

		pwd := s.signupLogin(t, "pat@example.com", "a long enough password")
		for i, r := 0, pwd; i < 2; i++ {
			r = refreshed(t, s, r.RefreshToken)
			if amr := verifyAccessToken(t, s, r.Token, "sigil").AMR; !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("refresh %d after a password: amr %v", i+1, amr)
			}
		}

		secret, _ := enrolTOTP(t, s, pwd.Token, "a long enough password", clock)
		clock.Add(30 * time.Second)
		mfa := loginNeedsMFA(t, s, "pat@example.com", "a long enough password", "urn:sigil:problem:mfa-required")
		st, typ, withCode := loginMFA(t, s, mfa.MFAToken, totpCode(t, secret, clock.Now()))
		if st != http.StatusOK {
			t.Fatalf("second factor: %d %s", st, typ)
		}
		for i, r := 0, withCode; i < 2; i++ {
			r = refreshed(t, s, r.RefreshToken)
			if amr := verifyAccessToken(t, s, r.Token, "sigil").AMR; !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
				t.Errorf("refresh %d after password and code: amr %v", i+1, amr)
			}
		}

		key := newSoftKey(t, env["SIGIL_ISSUER"], "localhost")
		registerSoftKey(t, s, withCode.Token, "a long enough password", key, "Laptop")
		a := beginAssertion(t, s, "")
		st, typ, passkey := finishAssertion(t, s, a.CeremonyID, "", key.get(a.PublicKey.Challenge.String()))
		if st != http.StatusOK {
			t.Fatalf("passkey: %d %s", st, typ)
		}
		if amr := verifyAccessToken(t, s, refreshed(t, s, passkey.RefreshToken).Token, "sigil").AMR; !slices.Equal(amr, []string{"hwk", "user", "mfa"}) {
			t.Errorf("refresh after a passkey: amr %v", amr)
		}
	})
}

// An administrator's reset of a user's second factors mails the user,
// through the real outbox and SMTP server; a reset of a user who had none
// mails nobody.
func TestAdminFactorResetMailsTheUser(t *testing.T) {
	mp := useMailpit(t)
	clock := newTestClock()
	env := mp.mailEnv(browserEnv(t, storetest.SQLiteURL(t), nil))
	s := startServerClock(t, env, clock.Now)
	admin := s.adminToken(t)
	email := uniqueEmail("reset-factors")
	u := s.signupLogin(t, email, "a long enough password")
	registerSoftKey(t, s, u.Token, "a long enough password", newSoftKey(t, env["SIGIL_ISSUER"], "localhost"), "Laptop")
	enrolTOTP(t, s, u.Token, "a long enough password", clock)

	st, _, b := doJSON(t, s, "DELETE", "/admin/users/"+u.UserID+"/mfa", "", admin)
	if st != http.StatusNoContent {
		t.Fatalf("reset: %d %s", st, b)
	}
	msg := mp.waitSubject(t, email, "second factors")
	if !strings.Contains(msg.Text, "passkeys") || !strings.Contains(msg.Text, email) {
		t.Errorf("reset notice:\n%s", msg.Text)
	}
	loginNeedsNothing(t, s, email, "a long enough password")

	// Nothing left to reset: no second notice.
	st, _, _ = doJSON(t, s, "DELETE", "/admin/users/"+u.UserID+"/mfa", "", admin)
	if st != http.StatusNoContent {
		t.Fatalf("second reset: %d", st)
	}
	otherEmail := uniqueEmail("reset-none")
	other := s.signupLogin(t, otherEmail, "a long enough password")
	doJSON(t, s, "DELETE", "/admin/users/"+other.UserID+"/mfa", "", admin)
	time.Sleep(2 * time.Second)
	n := 0
	for _, m := range mp.messagesTo(t, email) {
		if strings.Contains(m.Subject, "second factors") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reset notices, want 1", n)
	}
	for _, m := range mp.messagesTo(t, otherEmail) {
		if strings.Contains(m.Subject, "second factors") {
			t.Errorf("a user without second factors was mailed: %s", m.Subject)
		}
	}
}
