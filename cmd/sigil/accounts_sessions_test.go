package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

type sessionsJSON struct {
	Sessions []struct {
		ID        string `json:"id"`
		Kind      string `json:"kind"`
		ClientID  string `json:"clientId"`
		UserAgent string `json:"userAgent"`
		IP        string `json:"ip"`
		Current   bool   `json:"current"`
		CreatedAt string `json:"createdAt"`
	} `json:"sessions"`
}

func (s *server) sessions(t testing.TB, tok string) sessionsJSON {
	t.Helper()
	st, _, b := s.get(t, "/auth/sessions", bearer(tok)...)
	wantStatus(t, "sessions", st, b, http.StatusOK)
	var out sessionsJSON
	decode(t, b, &out)
	return out
}

func (s *server) loginUA(t testing.TB, email, password, ua string) loginResult {
	t.Helper()
	st, _, body := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": password}, "User-Agent", ua)
	wantStatus(t, "login", st, body, http.StatusOK)
	var r loginResult
	decode(t, body, &r)
	return r
}

func refreshStatus(t testing.TB, s *server, rt string) int {
	t.Helper()
	st, _, _ := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": rt})
	return st
}

// TestSessionsListAndRevoke lists a user's sessions with where they came
// from, ends one, then all.
func TestSessionsListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		email := uniqueEmail("sessions")
		st, _, b := s.postJSON(t, "/auth/signup", map[string]string{"email": email, "password": "correct horse battery"})
		wantStatus(t, "signup", st, b, http.StatusCreated)
		laptop := s.loginUA(t, email, "correct horse battery", "Laptop/1.0")
		phone := s.loginUA(t, email, "correct horse battery", "Phone/2.0")
		// A refresh keeps the session and its origin.
		var phone2 loginResult
		st, _, b = s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": phone.RefreshToken})
		wantStatus(t, "refresh", st, b, http.StatusOK)
		decode(t, b, &phone2)

		list := s.sessions(t, laptop.Token)
		if len(list.Sessions) != 2 {
			t.Fatalf("sessions: %+v", list)
		}
		var laptopID, phoneID string
		for _, x := range list.Sessions {
			if x.Kind != "refresh" || x.ClientID != "sigil" || x.IP != "127.0.0.1" || x.CreatedAt == "" {
				t.Errorf("session %+v", x)
			}
			switch x.UserAgent {
			case "Laptop/1.0":
				laptopID = x.ID
				if !x.Current {
					t.Error("the laptop session is not marked current")
				}
			case "Phone/2.0":
				phoneID = x.ID
				if x.Current {
					t.Error("the phone session is marked current")
				}
			}
		}
		if laptopID == "" || phoneID == "" {
			t.Fatalf("sessions: %+v", list)
		}
		// Another user cannot end it.
		stranger := s.signupLogin(t, uniqueEmail("stranger"), "correct horse battery")
		st, _, b = s.send(t, http.MethodDelete, "/auth/sessions/"+phoneID, nil, bearer(stranger.Token)...)
		wantStatus(t, "stranger revoke", st, b, http.StatusNotFound)

		st, _, b = s.send(t, http.MethodDelete, "/auth/sessions/"+phoneID, nil, bearer(laptop.Token)...)
		wantStatus(t, "revoke phone", st, b, http.StatusNoContent)
		if got := refreshStatus(t, s, phone2.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("phone refresh after revoke: %d", got)
		}
		if n := len(s.sessions(t, laptop.Token).Sessions); n != 1 {
			t.Errorf("%d sessions after revoking one", n)
		}
		st, _, b = s.send(t, http.MethodDelete, "/auth/sessions/"+phoneID, nil, bearer(laptop.Token)...)
		wantStatus(t, "revoke again", st, b, http.StatusNotFound)

		st, _, b = s.send(t, http.MethodPost, "/auth/sessions/revoke-all", nil, bearer(laptop.Token)...)
		wantStatus(t, "revoke all", st, b, http.StatusNoContent)
		if got := refreshStatus(t, s, laptop.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("laptop refresh after revoke-all: %d", got)
		}
		// The sessions' access tokens end with them, the asking one too.
		st, _, b = s.send(t, http.MethodGet, "/auth/sessions", nil, bearer(laptop.Token)...)
		wantStatus(t, "sessions with an access token of an ended session", st, b, http.StatusUnauthorized)
		again := s.loginUA(t, email, "correct horse battery", "Laptop/1.0")
		if n := len(s.sessions(t, again.Token).Sessions); n != 1 {
			t.Errorf("%d sessions after revoke-all and one new sign-in, want 1", n)
		}
		if got := refreshStatus(t, s, stranger.RefreshToken); got != http.StatusOK {
			t.Errorf("another user's session was ended: %d", got)
		}
	})
}

// TestPasswordChangeKeepsCurrentSession changes the password: the session
// it came from lives on, the others end, and a notice is mailed.
func TestPasswordChangeKeepsCurrentSession(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, mp.mailEnv(testEnv(dbURL, nil)))
		email := uniqueEmail("change")
		here := s.signupLogin(t, email, "old password 123")
		there := s.login(t, email, "old password 123")

		st, _, b := s.postJSON(t, "/auth/password", map[string]string{"currentPassword": "wrong password", "newPassword": "new password 456"}, bearer(here.Token)...)
		wantStatus(t, "wrong current", st, b, http.StatusUnauthorized)
		st, _, b = s.postJSON(t, "/auth/password", map[string]string{"currentPassword": "old password 123", "newPassword": "short"}, bearer(here.Token)...)
		wantStatus(t, "short new", st, b, http.StatusUnprocessableEntity)
		if !strings.Contains(string(b), "newPassword") {
			t.Errorf("problem does not name newPassword: %s", b)
		}
		st, _, b = s.postJSON(t, "/auth/password", map[string]string{"currentPassword": "old password 123", "newPassword": "new password 456"}, bearer(here.Token)...)
		wantStatus(t, "change", st, b, http.StatusNoContent)

		if got := refreshStatus(t, s, there.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("other session after change: %d", got)
		}
		if got := refreshStatus(t, s, here.RefreshToken); got != http.StatusOK {
			t.Errorf("current session after change: %d", got)
		}
		s.login(t, email, "new password 456")
		mp.waitSubject(t, email, "password was changed")
	})
}

// TestDeleteAccountRemovesEveryRow deletes an account with its password:
// its tokens stop working and no row names it any more.
func TestDeleteAccountRemovesEveryRow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		email := uniqueEmail("delete")
		lr := s.signupLogin(t, email, "correct horse battery")
		keep := s.signupLogin(t, uniqueEmail("keep"), "correct horse battery")

		st, _, b := s.send(t, http.MethodDelete, "/auth/me", map[string]string{"password": "wrong password"}, bearer(lr.Token)...)
		wantStatus(t, "wrong password", st, b, http.StatusUnauthorized)
		st, _, b = s.send(t, http.MethodDelete, "/auth/me", map[string]string{"password": "correct horse battery"}, bearer(lr.Token)...)
		wantStatus(t, "delete", st, b, http.StatusNoContent)

		if got := refreshStatus(t, s, lr.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("refresh after delete: %d", got)
		}
		st, _, _ = s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "correct horse battery"})
		if st != http.StatusUnauthorized {
			t.Errorf("login after delete: %d", st)
		}
		db := openDB(t, dbURL)
		ctx := context.Background()
		for _, table := range []string{"users", "refresh_tokens", "account_tokens", "mail_outbox"} {
			n, err := db.CountUserRows(ctx, table, lr.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d row(s) of %s left for the deleted user", n, table)
			}
		}
		events, err := db.ListEvents(ctx, store.AuditQuery{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		deleted := false
		for _, e := range events {
			if strings.Contains(e.Detail, email) || strings.Contains(e.Actor, email) {
				t.Errorf("audit event %s names the email: %+v", e.Type, e)
			}
			if e.Type == "user.deleted" && e.UserID == lr.UserID {
				deleted = true
			}
		}
		if !deleted {
			t.Error("no user.deleted audit event")
		}
		if got := refreshStatus(t, s, keep.RefreshToken); got != http.StatusOK {
			t.Errorf("another user's session after delete: %d", got)
		}
	})
}
