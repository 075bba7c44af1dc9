package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// wantLinkRefused checks that a mailed token gets the answer of an
// unknown one: 400 invalid-link-token.
func wantLinkRefused(t *testing.T, what string, st int, body []byte) {
	t.Helper()
	if st != http.StatusBadRequest || !strings.Contains(string(body), "invalid-link-token") {
		t.Fatalf("%s: %d %s, want 400 invalid-link-token", what, st, body)
	}
}

// A password change or reset cancels the links mailed before it (email
// change, verification, reset), read from a real mailbox as their owner
// would; a reset link works only while the account still has the address
// it was mailed to; the flows themselves still work. A password reset
// also ends the code-flow access tokens of the account.
func TestPasswordChangeCancelsPendingLinks(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newReachFixture(t, dbURL, mp.mailEnv(map[string]string{}))
		s := f.s
		const pw, pw2, pw3, pw4 = "first password 123", "second password 456", "third password 789", "fourth password 012"
		email := uniqueEmail("links")
		lr := s.signupLogin(t, email, pw)
		_, verify := mailLink(t, mp.waitSubject(t, email, "Confirm your email address"))

		// An email change asked for, then the password changed: the
		// change link and the verification link are dead.
		taken := uniqueEmail("taker")
		st, _, b := s.postJSON(t, "/auth/email", map[string]string{"email": taken, "password": pw}, bearer(lr.Token)...)
		wantStatus(t, "email change", st, b, http.StatusAccepted)
		_, change := mailLink(t, mp.waitSubject(t, taken, "Confirm your new email"))
		st, _, b = s.postJSON(t, "/auth/password", map[string]string{"currentPassword": pw, "newPassword": pw2}, bearer(lr.Token)...)
		wantStatus(t, "password change", st, b, http.StatusNoContent)
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": change})
		wantLinkRefused(t, "email-change link mailed before a password change", st, b)
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": verify})
		wantLinkRefused(t, "verification link mailed before a password change", st, b)
		if me := s.me(t, s.login(t, email, pw2).Token); me.Email != email || me.EmailVerified {
			t.Fatalf("after the refused links: %+v", me)
		}

		// The same with a password reset, which also ends the
		// code-flow tokens of the account.
		lr = s.login(t, email, pw2)
		tok := f.codeToken(t, f.signIn(t, email, pw2))
		taken2 := uniqueEmail("taker")
		st, _, b = s.postJSON(t, "/auth/email", map[string]string{"email": taken2, "password": pw2}, bearer(lr.Token)...)
		wantStatus(t, "email change", st, b, http.StatusAccepted)
		_, change = mailLink(t, mp.waitSubject(t, taken2, "Confirm your new email"))
		st, _, b = s.postJSON(t, "/auth/password/forgot", map[string]string{"email": email})
		wantStatus(t, "forgot", st, b, http.StatusAccepted)
		_, reset := mailLink(t, mp.waitSubject(t, email, "Reset your"))
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": reset, "password": pw3})
		wantStatus(t, "reset", st, b, http.StatusNoContent)
		f.waitEnded(t, tok, "after a password reset")
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": change})
		wantLinkRefused(t, "email-change link mailed before a password reset", st, b)

		// A reset link mailed to the old address, then the email
		// changed (the normal flow, which works): the link is dead.
		st, _, b = s.postJSON(t, "/auth/password/forgot", map[string]string{"email": email})
		wantStatus(t, "forgot", st, b, http.StatusAccepted)
		oldReset := waitNewLink(t, mp, email, "Reset your", reset)
		moved := uniqueEmail("moved")
		st, _, b = s.postJSON(t, "/auth/email", map[string]string{"email": moved, "password": pw3}, bearer(s.login(t, email, pw3).Token)...)
		wantStatus(t, "email change", st, b, http.StatusAccepted)
		_, change = mailLink(t, mp.waitSubject(t, moved, "Confirm your new email"))
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": change})
		wantStatus(t, "email change link", st, b, http.StatusNoContent)
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": oldReset, "password": pw4})
		wantLinkRefused(t, "reset link mailed to the address the account no longer has", st, b)
		s.login(t, moved, pw3)

		// A reset link to the current address works.
		st, _, b = s.postJSON(t, "/auth/password/forgot", map[string]string{"email": moved})
		wantStatus(t, "forgot", st, b, http.StatusAccepted)
		_, reset = mailLink(t, mp.waitSubject(t, moved, "Reset your"))
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": reset, "password": pw4})
		wantStatus(t, "reset to the current address", st, b, http.StatusNoContent)
		s.login(t, moved, pw4)
	})
}

// waitNewLink waits for a message to addr with subject sub whose link
// token is not old, and returns that token.
func waitNewLink(t *testing.T, mp *mailpit, addr, sub, old string) string {
	t.Helper()
	for i := 0; ; i++ {
		if _, tok := mailLink(t, mp.waitSubject(t, addr, sub)); tok != old {
			return tok
		}
		if i == 200 {
			t.Fatalf("no new %q message to %s", sub, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
