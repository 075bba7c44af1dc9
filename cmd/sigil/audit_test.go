package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

type auditPage struct {
	Events     []authority.Event `json:"events"`
	NextCursor string            `json:"nextCursor"`
}

// GET /admin/audit pages newest first with an opaque cursor, filters by
// type and userId, and is for administrators only.
func TestAdminAuditPagingAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, adminEnv(dbURL, nil))
		admin := s.login(t, adminEmail, adminPassword)
		user := s.signupLogin(t, "user@example.com", "user-password")
		loginAttempt(t, s, "user@example.com", "wrong-password")
		loginAttempt(t, s, "nobody@example.com", "wrong-password")

		get := func(query string, tok string) (int, auditPage) {
			t.Helper()
			st, h, body := s.get(t, "/admin/audit"+query, bearer(tok)...)
			var p auditPage
			if st == 200 {
				if h.Get("Cache-Control") != "no-store" {
					t.Errorf("audit answer Cache-Control %q", h.Get("Cache-Control"))
				}
				decode(t, body, &p)
			}
			return st, p
		}

		// All events, two at a time, newest first, following the cursor.
		_, all := get("?limit=500", admin.Token)
		var paged []authority.Event
		cursor := ""
		for pages := 0; ; pages++ {
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			st, p := get(q, admin.Token)
			if st != 200 || len(p.Events) > 2 || pages > 100 {
				t.Fatalf("page %d: %d %+v", pages, st, p)
			}
			paged = append(paged, p.Events...)
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if len(paged) != len(all.Events) || len(all.Events) < 6 {
			t.Fatalf("paged %d events, listed %d at once", len(paged), len(all.Events))
		}
		for i := range paged {
			if paged[i].ID != all.Events[i].ID || (i > 0 && paged[i].ID >= paged[i-1].ID) {
				t.Fatalf("event %d: paging order differs or is not newest first", i)
			}
		}
		seen := map[string]bool{}
		for _, e := range all.Events {
			seen[e.Type] = true
		}
		for _, typ := range []string{"user.signup", "login.success", "login.failure", "key.activated"} {
			if !seen[typ] {
				t.Errorf("no %s event in %v", typ, seen)
			}
		}

		_, fails := get("?type=login.failure", admin.Token)
		if len(fails.Events) != 2 {
			t.Errorf("type filter: %d login.failure events, want 2", len(fails.Events))
		}
		for _, e := range fails.Events {
			if e.Type != "login.failure" {
				t.Errorf("type filter returned %s", e.Type)
			}
		}
		_, mine := get("?userId="+user.UserID, admin.Token)
		if len(mine.Events) < 3 {
			t.Errorf("userId filter: %d events for the user, want signup, login and failure", len(mine.Events))
		}
		for _, e := range mine.Events {
			if e.UserID != user.UserID {
				t.Errorf("userId filter returned an event of %q", e.UserID)
			}
		}

		if st, _ := get("", user.Token); st != http.StatusForbidden {
			t.Errorf("non-admin: %d, want 403", st)
		}
		if st, _, _ := s.get(t, "/admin/audit"); st != http.StatusUnauthorized {
			t.Errorf("no token: %d, want 401", st)
		}
		for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=abc", "?cursor=-1"} {
			st, h, body := s.get(t, "/admin/audit"+q, bearer(admin.Token)...)
			if st != 422 || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s, want 422 problem", q, st, body)
			}
		}
	})
}

// No audit event carries a password, an access token or a refresh token,
// in whole or in part.
func TestAuditEventsHoldNoSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_LOCKOUT_THRESHOLD": "2"}))
		const password = "Sup3r-Secret-Passw0rd"
		lr := s.signupLogin(t, "secret@example.com", password)
		loginAttempt(t, s, "secret@example.com", "Wrong-"+password)
		loginAttempt(t, s, "secret@example.com", "Other-"+password)
		loginAttempt(t, s, "secret@example.com", password) // throttled
		loginAttempt(t, s, "ghost@example.com", password)
		s.get(t, "/auth/me", bearer(lr.Token)...)

		ctx := context.Background()
		db, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		events, err := db.ListEvents(ctx, store.AuditQuery{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		secrets := []string{password, lr.Token, lr.RefreshToken, strings.Split(lr.Token, ".")[2], lr.RefreshToken[:16], "Passw0rd"}
		types := map[string]bool{}
		for _, e := range events {
			types[e.Type] = true
			row := strings.Join([]string{e.Type, e.Actor, e.UserID, e.KID, e.IP, e.Detail}, "|")
			for _, sec := range secrets {
				if strings.Contains(row, sec) {
					t.Fatalf("audit event %d (%s) contains a secret: %q", e.ID, e.Type, row)
				}
			}
		}
		for _, typ := range []string{"user.signup", "login.success", "login.failure", "account.locked", "login.throttled"} {
			if !types[typ] {
				t.Errorf("flow wrote no %s event (got %v)", typ, types)
			}
		}
	})
}
