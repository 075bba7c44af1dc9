package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// A running server prunes in the background: expired rows and audit
// events past SIGIL_AUDIT_RETENTION go, counted in /metrics and in one log
// line per pass; a live session and recent events stay and work.
func TestServerPrunesInTheBackground(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, map[string]string{
			"SIGIL_PRUNE_INTERVAL": "1s", "SIGIL_AUDIT_RETENTION": "30d", "SIGIL_LOG_LEVEL": "info"}))
		ada := s.signupLogin(t, "ada@example.com", "correct horse battery")
		ctx := context.Background()
		db := openDB(t, dbURL)
		now := time.Now().UTC()
		old := now.Add(-2 * time.Hour)
		for _, h := range []string{"expired-1", "expired-2"} {
			if err := db.CreateRefreshToken(ctx, authority.RefreshToken{Hash: h, FamilyID: h, UserID: ada.UserID, ClientID: "sigil",
				CreatedAt: old, ExpiresAt: now.Add(-time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DenyAccessToken(ctx, "gone-jti", now.Add(-time.Minute), old); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordEvent(ctx, authority.Event{At: now.Add(-31 * 24 * time.Hour), Type: "test.ancient", UserID: ada.UserID}); err != nil {
			t.Fatal(err)
		}

		want := map[string]int{"refresh_tokens": 2, "revoked_tokens": 1, "audit_events": 1}
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, _, body := s.get(t, "/metrics")
			done := true
			for table, n := range want {
				m := regexp.MustCompile(`(?m)^sigil_pruned_rows_total\{table="` + table + `"\} (\d+)$`).FindSubmatch(body)
				if m == nil {
					t.Fatalf("/metrics lacks the pruned-rows series of %s", table)
				}
				if got, _ := strconv.Atoi(string(m[1])); got < n {
					done = false
				} else if got > n {
					t.Fatalf("pruned %d rows of %s, want %d", got, table, n)
				}
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rows not pruned within a minute:\n%s", body)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The rows may have been written across two passes: the passes'
		// log lines add up to what was pruned.
		logged := 0
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if m := regexp.MustCompile(`pruned expired rows.* refresh_tokens=(\d+)`).FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				logged += n
			}
		}
		if logged != 2 {
			t.Fatalf("the passes' log lines count %d pruned refresh tokens, want 2:\n%s", logged, s.stderr.String())
		}
		if got, err := db.CountUserRows(ctx, "refresh_tokens", ada.UserID); err != nil || got != 1 {
			t.Fatalf("refresh tokens left: %d, %v; want the live one", got, err)
		}
		// The live session still refreshes, and the signup's audit events
		// are still listed.
		if st, _, b := s.postJSON(t, "/auth/refresh", map[string]string{"refreshToken": ada.RefreshToken}); st != 200 {
			t.Fatalf("refresh after pruning: %d %s", st, b)
		}
		evs, err := db.ListEvents(ctx, authority.EventQuery{UserID: ada.UserID})
		if err != nil || len(evs) == 0 {
			t.Fatalf("recent audit events: %v, %v", evs, err)
		}
		for _, e := range evs {
			if e.Type == "test.ancient" || strings.HasPrefix(e.Type, "prune") {
				t.Fatalf("audit events after pruning: %+v (no ancient one, and pruning audits nothing)", evs)
			}
		}
	})
}
