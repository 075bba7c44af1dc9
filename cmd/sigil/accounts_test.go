package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// send sends v (nil: no body) as JSON with method.
func (s *server) send(t testing.TB, method, path string, v any, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	if v == nil {
		return do(t, method, s.Base+path, "", "", hdr...)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, method, s.Base+path, "application/json", string(b), hdr...)
}

type meJSON struct {
	UserID        string   `json:"userId"`
	Email         string   `json:"email"`
	Roles         []string `json:"roles"`
	EmailVerified bool     `json:"emailVerified"`
}

func (s *server) me(t testing.TB, tok string) meJSON {
	t.Helper()
	st, _, b := s.get(t, "/auth/me", bearer(tok)...)
	if st != http.StatusOK {
		t.Fatalf("/auth/me: %d %s", st, b)
	}
	var m meJSON
	decode(t, b, &m)
	return m
}

func wantStatus(t testing.TB, what string, got int, body []byte, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %d %s, want %d", what, got, body, want)
	}
}

// TestSignupVerificationMailOverSMTP signs up, reads the verification mail
// from a real SMTP server, follows its link's token and finds the email
// verified; the token does not work twice.
func TestSignupVerificationMailOverSMTP(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, mp.mailEnv(testEnv(dbURL, nil)))
		email := uniqueEmail("verify")
		lr := s.signupLogin(t, email, "correct horse battery")
		if s.me(t, lr.Token).EmailVerified {
			t.Fatal("email verified before the link was opened")
		}
		msg := mp.waitSubject(t, email, "Confirm your email")
		if msg.From.Address != "no-reply@sigil.test" {
			t.Errorf("From = %q", msg.From.Address)
		}
		link, tok := mailLink(t, msg)
		if !strings.HasPrefix(link, "http://sigil.test/verify-email?token=") {
			t.Errorf("link %s is not under the issuer", link)
		}
		st, _, b := s.postJSON(t, "/auth/verify-email", map[string]string{"token": tok})
		wantStatus(t, "verify", st, b, http.StatusNoContent)
		if !s.me(t, s.login(t, email, "correct horse battery").Token).EmailVerified {
			t.Fatal("email not verified after the link")
		}
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": tok})
		wantStatus(t, "replayed verify", st, b, http.StatusBadRequest)
		if !strings.Contains(string(b), "invalid-link-token") {
			t.Errorf("replay problem: %s", b)
		}
		for _, bad := range []string{"", "x", strings.Repeat("A", 43)} {
			st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": bad})
			wantStatus(t, "bad token "+bad, st, b, http.StatusBadRequest)
		}

		// Resend on an unverified account sends a new, working link.
		other := uniqueEmail("resend")
		lr2 := s.signupLogin(t, other, "correct horse battery")
		mp.waitMail(t, other, 1, 20*time.Second)
		st, _, b = s.send(t, http.MethodPost, "/auth/verify-email/resend", nil, bearer(lr2.Token)...)
		wantStatus(t, "resend", st, b, http.StatusAccepted)
		msgs := mp.waitMail(t, other, 2, 20*time.Second)
		_, tok2 := mailLink(t, msgs[len(msgs)-1])
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": tok2})
		wantStatus(t, "verify resent", st, b, http.StatusNoContent)
		st, _, b = s.send(t, http.MethodPost, "/auth/verify-email/resend", nil)
		wantStatus(t, "resend without token", st, b, http.StatusUnauthorized)
	})
}

// TestPasswordResetOverSMTP asks for a reset, follows the mailed token,
// sets a new password: the old refresh tokens are refused, the old
// password too, the token works once, and a notice is mailed.
func TestPasswordResetOverSMTP(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, mp.mailEnv(testEnv(dbURL, nil)))
		email := uniqueEmail("reset")
		first := s.signupLogin(t, email, "old password 123")
		second := s.login(t, email, "old password 123")

		st, _, b := s.postJSON(t, "/auth/password/forgot", map[string]string{"email": strings.ToUpper(email)})
		wantStatus(t, "forgot", st, b, http.StatusAccepted)
		msg := mp.waitSubject(t, email, "Reset your")
		link, tok := mailLink(t, msg)
		if !strings.HasPrefix(link, "http://sigil.test/reset-password?token=") {
			t.Errorf("link %s", link)
		}
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": tok, "password": "short"})
		wantStatus(t, "short password", st, b, http.StatusUnprocessableEntity)
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": tok, "password": "new password 456"})
		wantStatus(t, "reset", st, b, http.StatusNoContent)
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": tok, "password": "third password 789"})
		wantStatus(t, "replayed reset", st, b, http.StatusBadRequest)

		for i, rt := range []string{first.RefreshToken, second.RefreshToken} {
			st, _, b = s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": rt})
			if st != http.StatusUnauthorized {
				t.Errorf("refresh token %d after reset: %d %s", i, st, b)
			}
		}
		st, _, _ = s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "old password 123"})
		if st != http.StatusUnauthorized {
			t.Errorf("old password after reset: %d", st)
		}
		s.login(t, email, "new password 456")
		mp.waitSubject(t, email, "password was changed")
	})
}

// TestForgotPasswordAnswersAlike checks that a known and an unknown email
// get the same status, headers and body.
func TestForgotPasswordAnswersAlike(t *testing.T) {
	mp := useMailpit(t)
	s := startServer(t, mp.mailEnv(testEnv(storetest.SQLiteURL(t), nil)))
	known := uniqueEmail("known")
	s.signupLogin(t, known, "correct horse battery")
	type answer struct {
		status int
		hdr    http.Header
		body   string
		took   time.Duration
	}
	ask := func(email string) answer {
		start := time.Now()
		st, h, b := s.postJSON(t, "/auth/password/forgot", map[string]string{"email": email})
		h.Del("Date")
		h.Del("X-Request-Id")
		return answer{st, h, string(b), time.Since(start)}
	}
	k, u := ask(known), ask(uniqueEmail("unknown"))
	if k.status != http.StatusAccepted || u.status != k.status || k.body != u.body {
		t.Fatalf("known %d %q, unknown %d %q", k.status, k.body, u.status, u.body)
	}
	if len(k.hdr) != len(u.hdr) {
		t.Fatalf("headers differ: %v vs %v", k.hdr, u.hdr)
	}
	for name, v := range k.hdr {
		if strings.Join(v, ",") != strings.Join(u.hdr[name], ",") {
			t.Errorf("header %s: %q vs %q", name, v, u.hdr[name])
		}
	}
	// Both wait for the same floor; neither answers before it.
	if k.took < 200*time.Millisecond || u.took < 200*time.Millisecond {
		t.Errorf("answered in %v / %v, before the floor", k.took, u.took)
	}
	st, _, b := s.postJSON(t, "/auth/password/forgot", map[string]string{"email": "not an email"})
	wantStatus(t, "malformed email", st, b, http.StatusUnprocessableEntity)
}

func uniqueEmail(prefix string) string {
	return prefix + "-" + strings.ToLower(randomSuffix()) + "@example.com"
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
