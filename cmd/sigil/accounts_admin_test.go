package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store/storetest"
)

type usersPage struct {
	Users []struct {
		ID            string   `json:"id"`
		Email         string   `json:"email"`
		EmailVerified bool     `json:"emailVerified"`
		Locked        bool     `json:"locked"`
		Roles         []string `json:"roles"`
	} `json:"users"`
	NextCursor string `json:"nextCursor"`
}

// TestAdminUserManagement searches and pages users, locks and unlocks,
// sets roles, mails a reset link and deletes, as an administrator.
func TestAdminUserManagement(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, mp.mailEnv(adminEnv(dbURL, nil)))
		admin := s.adminToken(t)
		tag := randomSuffix()
		var ids []string
		for _, p := range []string{"a", "b", "c"} {
			lr := s.signupLogin(t, p+"-"+tag+"@example.com", "correct horse battery")
			ids = append(ids, lr.UserID)
		}
		user := s.login(t, "a-"+tag+"@example.com", "correct horse battery")

		// Paging through a search.
		var seen []string
		cursor := ""
		for range 5 {
			st, _, b := s.get(t, "/admin/users?limit=2&email="+tag+"&cursor="+cursor, bearer(admin)...)
			wantStatus(t, "list", st, b, http.StatusOK)
			if strings.Contains(string(b), "argon2") || strings.Contains(strings.ToLower(string(b)), "password") {
				t.Fatalf("listing shows password material: %s", b)
			}
			var page usersPage
			decode(t, b, &page)
			for _, u := range page.Users {
				seen = append(seen, u.Email)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(seen, ",") != "a-"+tag+"@example.com,b-"+tag+"@example.com,c-"+tag+"@example.com" {
			t.Fatalf("paged search: %v", seen)
		}
		st, _, b := s.get(t, "/admin/users?limit=0", bearer(admin)...)
		wantStatus(t, "limit 0", st, b, http.StatusUnprocessableEntity)
		st, _, b = s.get(t, "/admin/users", bearer(user.Token)...)
		wantStatus(t, "non-admin", st, b, http.StatusForbidden)

		st, _, b = s.get(t, "/admin/users/"+ids[0], bearer(admin)...)
		wantStatus(t, "show", st, b, http.StatusOK)
		st, _, b = s.get(t, "/admin/users/nope", bearer(admin)...)
		wantStatus(t, "show unknown", st, b, http.StatusNotFound)

		// Lock: sessions end and login is refused with a clear problem.
		st, _, b = s.send(t, http.MethodPost, "/admin/users/"+ids[0]+"/lock", nil, bearer(admin)...)
		wantStatus(t, "lock", st, b, http.StatusNoContent)
		if got := refreshStatus(t, s, user.RefreshToken); got != http.StatusUnauthorized {
			t.Errorf("refresh of a locked account: %d", got)
		}
		st, _, b = s.postJSON(t, "/auth/login", map[string]string{"email": "a-" + tag + "@example.com", "password": "correct horse battery"})
		wantStatus(t, "locked login", st, b, http.StatusForbidden)
		if !strings.Contains(string(b), "urn:sigil:problem:account-locked") {
			t.Errorf("locked login problem: %s", b)
		}
		st, _, b = s.send(t, http.MethodPost, "/admin/users/"+ids[0]+"/unlock", nil, bearer(admin)...)
		wantStatus(t, "unlock", st, b, http.StatusNoContent)
		s.login(t, "a-"+tag+"@example.com", "correct horse battery")

		// Roles show in new tokens.
		st, _, b = s.send(t, http.MethodPut, "/admin/users/"+ids[1]+"/roles", map[string][]string{"roles": {"auditor", "admin"}}, bearer(admin)...)
		wantStatus(t, "set roles", st, b, http.StatusNoContent)
		m := s.me(t, s.login(t, "b-"+tag+"@example.com", "correct horse battery").Token)
		if strings.Join(m.Roles, ",") != "admin,auditor" {
			t.Errorf("roles after set: %v", m.Roles)
		}
		st, _, b = s.send(t, http.MethodPut, "/admin/users/"+ids[1]+"/roles", map[string][]string{"roles": {"Bad Role"}}, bearer(admin)...)
		wantStatus(t, "bad role", st, b, http.StatusUnprocessableEntity)
		st, _, b = s.send(t, http.MethodPut, "/admin/users/"+ids[1]+"/roles", map[string][]string{"roles": {}}, bearer(admin)...)
		wantStatus(t, "clear roles", st, b, http.StatusNoContent)

		// A reset mail on the administrator's request.
		st, _, b = s.send(t, http.MethodPost, "/admin/users/"+ids[2]+"/password-reset", nil, bearer(admin)...)
		wantStatus(t, "admin reset", st, b, http.StatusAccepted)
		_, tok := mailLink(t, mp.waitSubject(t, "c-"+tag+"@example.com", "Reset your"))
		st, _, b = s.postJSON(t, "/auth/password/reset", map[string]string{"token": tok, "password": "chosen by c 123"})
		wantStatus(t, "reset", st, b, http.StatusNoContent)
		s.login(t, "c-"+tag+"@example.com", "chosen by c 123")

		st, _, b = s.send(t, http.MethodDelete, "/admin/users/"+ids[2], nil, bearer(admin)...)
		wantStatus(t, "delete", st, b, http.StatusNoContent)
		st, _, b = s.send(t, http.MethodDelete, "/admin/users/"+ids[2], nil, bearer(admin)...)
		wantStatus(t, "delete again", st, b, http.StatusNotFound)
	})
}

// TestEmailChangeOverSMTP changes the email: a link goes to the new
// address, a notice to the old one, and only the link makes the change.
func TestEmailChangeOverSMTP(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, mp.mailEnv(testEnv(dbURL, nil)))
		old, next := uniqueEmail("old"), uniqueEmail("new")
		lr := s.signupLogin(t, old, "correct horse battery")
		taken := uniqueEmail("taken")
		s.signupLogin(t, taken, "correct horse battery")

		st, _, b := s.postJSON(t, "/auth/email", map[string]string{"email": next, "password": "wrong password"}, bearer(lr.Token)...)
		wantStatus(t, "wrong password", st, b, http.StatusUnauthorized)
		st, _, b = s.postJSON(t, "/auth/email", map[string]string{"email": taken, "password": "correct horse battery"}, bearer(lr.Token)...)
		wantStatus(t, "taken", st, b, http.StatusConflict)
		st, _, b = s.postJSON(t, "/auth/email", map[string]string{"email": next, "password": "correct horse battery"}, bearer(lr.Token)...)
		wantStatus(t, "change", st, b, http.StatusAccepted)

		mp.waitSubject(t, old, "is being changed")
		_, tok := mailLink(t, mp.waitSubject(t, next, "Confirm your new email"))
		// Nothing changed yet.
		s.login(t, old, "correct horse battery")
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": tok})
		wantStatus(t, "confirm", st, b, http.StatusNoContent)
		m := s.me(t, s.login(t, next, "correct horse battery").Token)
		if m.Email != next || !m.EmailVerified {
			t.Errorf("after change: %+v", m)
		}
		st, _, _ = s.postJSON(t, "/auth/login", map[string]string{"email": old, "password": "correct horse battery"})
		if st != http.StatusUnauthorized {
			t.Errorf("login with the old email: %d", st)
		}
	})
}

// TestRequireVerifiedEmail refuses logins until the link is opened (the
// refusal mails a new link), and signup answers the same for new and
// registered emails, mailing the owner of a registered one.
func TestRequireVerifiedEmail(t *testing.T) {
	mp := useMailpit(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, mp.mailEnv(testEnv(dbURL, map[string]string{"SIGIL_REQUIRE_VERIFIED_EMAIL": "true"})))
		email := uniqueEmail("strict")
		signup := func(e string) (int, http.Header, []byte) {
			st, h, b := s.postJSON(t, "/auth/signup", map[string]string{"email": e, "password": "correct horse battery"})
			h.Del("Date")
			h.Del("X-Request-Id")
			return st, h, b
		}
		st1, h1, b1 := signup(email)
		st2, h2, b2 := signup(email)
		if st1 != http.StatusAccepted || st2 != st1 || string(b1) != string(b2) || len(h1) != len(h2) {
			t.Fatalf("new %d %v %q, registered %d %v %q", st1, h1, b1, st2, h2, b2)
		}
		mp.waitSubject(t, email, "tried to sign up")

		st, _, b := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "correct horse battery"})
		wantStatus(t, "unverified login", st, b, http.StatusForbidden)
		if !strings.Contains(string(b), "urn:sigil:problem:email-not-verified") {
			t.Errorf("problem: %s", b)
		}
		// The signup link and the one the refused login sent.
		msgs := mp.waitMail(t, email, 3, 20e9)
		var tok string
		for _, m := range msgs {
			if strings.Contains(m.Subject, "Confirm your email") {
				_, tok = mailLink(t, m)
			}
		}
		st, _, b = s.postJSON(t, "/auth/verify-email", map[string]string{"token": tok})
		wantStatus(t, "verify", st, b, http.StatusNoContent)
		s.login(t, email, "correct horse battery")
	})
}
