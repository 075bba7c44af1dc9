package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mail"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// rawDB opens a second, plain connection to the test database, to read
// what a pruning pass left behind.
func rawDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	driver, src := "postgres", url
	if p := store.SQLitePath(url); p != "" {
		driver, src = "sqlite", p
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// keysOf returns the sorted keys of every row of table.
func keysOf(t *testing.T, db *sql.DB, table, key string) []string {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, key, table, key))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

// TestPrune inserts expired and live rows of every pruned table on each
// backend, runs pruning passes, and checks exactly which rows remain.
func TestPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db := openMigrated(t, url)
		raw := rawDB(t, url)
		now := time.Now().UTC().Truncate(time.Millisecond)
		past, future := now.Add(-time.Hour), now.Add(time.Hour)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		u := user("prune@example.com")
		must(db.CreateUser(ctx, u))

		// Refresh tokens. Family A has expired: its spent and its live
		// token go, as does the revoked token of expired family D. Family
		// B lives: its spent token stays for reuse detection. Family C
		// has one token past its expiry and one not: the family stays
		// whole until its last token has expired.
		rt := func(hash, family string, exp time.Time, session string) authority.RefreshToken {
			return authority.RefreshToken{Hash: hash, FamilyID: family, UserID: u.ID, ClientID: "app",
				CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: exp, SessionID: session}
		}
		must(db.CreateRefreshToken(ctx, rt("a1", "A", past, "s4")))
		must(db.SpendRefreshToken(ctx, "a1", rt("a2", "A", past, "s4")))
		must(db.CreateRefreshToken(ctx, rt("b1", "B", future, "s3")))
		next := rt("b2", "B", future, "s3")
		next.CreatedAt = now
		must(db.SpendRefreshToken(ctx, "b1", next))
		must(db.CreateRefreshToken(ctx, rt("c1", "C", past, "")))
		must(db.CreateRefreshToken(ctx, rt("c2", "C", future, "")))
		must(db.CreateRefreshToken(ctx, rt("d1", "D", past, "")))
		if _, err := db.RevokeRefreshFamily(ctx, "D", now.Add(-90*time.Minute)); err != nil {
			t.Fatal(err)
		}

		// Authorization codes: an unused expired one goes; a used one goes
		// once the access token it gave has expired too.
		code := func(hash string, exp time.Time) oidc.AuthCode {
			return oidc.AuthCode{Hash: hash, ClientID: "app", UserID: u.ID, SessionID: "s2", RedirectURI: "https://app/cb",
				AuthTime: now.Add(-2 * time.Hour), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}
		}
		must(db.CreateAuthCode(ctx, code("code-expired", now.Add(-time.Minute))))
		must(db.CreateAuthCode(ctx, code("code-live", now.Add(time.Minute))))
		must(db.CreateAuthCode(ctx, code("code-used-done", now.Add(-time.Minute))))
		must(db.CreateAuthCode(ctx, code("code-used-access-live", now.Add(-time.Minute))))
		_, err := db.RedeemAuthCode(ctx, "code-used-done", now.Add(-90*time.Second), "F1", "jti1", now.Add(-time.Second))
		must(err)
		_, err = db.RedeemAuthCode(ctx, "code-used-access-live", now.Add(-90*time.Second), "F2", "jti2", now.Add(10*time.Minute))
		must(err)

		// Browser sessions: s1 expired with nothing issued through it
		// goes; s2 lives; s3 expired but refresh family B, issued
		// through it, lives, so a logout naming s3 must still find it;
		// s4 expired and its family A expired too.
		sess := func(id string, exp time.Time) oidc.BrowserSession {
			return oidc.BrowserSession{ID: id, TokenHash: "h-" + id, UserID: u.ID, AuthTime: now.Add(-2 * time.Hour),
				CreatedAt: now.Add(-2 * time.Hour), LastUsedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}
		}
		must(db.CreateBrowserSession(ctx, sess("s1", past)))
		must(db.CreateBrowserSession(ctx, sess("s2", future)))
		must(db.CreateBrowserSession(ctx, sess("s3", past)))
		must(db.CreateBrowserSession(ctx, sess("s4", past)))

		// Deny list: five entries whose token has expired (more than one
		// batch), one still needed.
		for i := 0; i < 5; i++ {
			must(db.DenyAccessToken(ctx, fmt.Sprintf("jti-old-%d", i), now.Add(-time.Second), now.Add(-2*time.Hour)))
		}
		must(db.DenyAccessToken(ctx, "jti-live", future, now.Add(-2*time.Hour)))

		// Audit events: 100 and 89 days old.
		must(db.RecordEvent(ctx, authority.Event{At: now.Add(-100 * 24 * time.Hour), Type: "test.old", Detail: "old"}))
		must(db.RecordEvent(ctx, authority.Event{At: now.Add(-89 * 24 * time.Hour), Type: "test.recent", Detail: "recent"}))

		// One-time tokens of accounts and second factors.
		must(db.CreateAccountToken(ctx, account.Token{Hash: "acct-old", Kind: "verify", UserID: u.ID, Email: u.Email, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: past}))
		must(db.CreateAccountToken(ctx, account.Token{Hash: "acct-live", Kind: "reset", UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: future}))
		must(db.CreateMFAToken(ctx, mfa.Token{Hash: "mfa-old", UserID: u.ID, Purpose: mfa.PurposeLogin, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: past}))
		must(db.CreateMFAToken(ctx, mfa.Token{Hash: "mfa-live", UserID: u.ID, Purpose: mfa.PurposeLogin, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: future}))

		// Mail: sent eight days ago goes; sent yesterday and still pending
		// (however old) stay.
		week := 8 * 24 * time.Hour
		must(db.EnqueueMail(ctx, mail.Row{ID: "mail-sent-old", UserID: u.ID, Kind: "verify", Body: "sealed", NextAttemptAt: now.Add(-week), CreatedAt: now.Add(-week)}))
		must(db.EnqueueMail(ctx, mail.Row{ID: "mail-sent-new", UserID: u.ID, Kind: "verify", Body: "sealed", NextAttemptAt: now.Add(-24 * time.Hour), CreatedAt: now.Add(-24 * time.Hour)}))
		claimed, err := db.ClaimMail(ctx, "me", now, future, 10)
		must(err)
		for _, r := range claimed {
			must(db.FinishMail(ctx, r.ID, "me", r.CreatedAt))
		}
		must(db.EnqueueMail(ctx, mail.Row{ID: "mail-pending-old", UserID: u.ID, Kind: "verify", Body: "sealed", NextAttemptAt: future, CreatedAt: now.Add(-week)}))

		// Failed-login counters: idle for two days, and an hour.
		never := func(int) time.Time { return time.Time{} }
		_, err = db.RecordLoginFailure(ctx, "idle@example.com", now.Add(-48*time.Hour), never)
		must(err)
		_, err = db.RecordLoginFailure(ctx, "recent@example.com", past, never)
		must(err)

		// First pass keeps audit events forever (retention 0).
		res, err := db.Prune(ctx, store.PruneOptions{Now: now, Batch: 2, Pause: time.Millisecond})
		must(err)
		wantRows := map[string]int64{"refresh_tokens": 3, "authorization_codes": 2, "browser_sessions": 2, "revoked_tokens": 5,
			"account_tokens": 1, "mfa_tokens": 1, "mail_outbox": 1, "login_throttle": 1}
		if !res.Ran || !reflect.DeepEqual(res.Rows, wantRows) {
			t.Fatalf("first pass = %+v, want ran and %v", res, wantRows)
		}
		remain := []struct {
			table, key string
			want       []string
		}{
			{"refresh_tokens", "token_hash", sorted("b1", "b2", "c1", "c2")},
			{"authorization_codes", "code_hash", sorted("code-live", "code-used-access-live")},
			{"browser_sessions", "id", sorted("s2", "s3")},
			{"revoked_tokens", "jti", sorted("jti-live")},
			{"audit_events", "type", sorted("test.old", "test.recent")},
			{"account_tokens", "token_hash", sorted("acct-live")},
			{"mfa_tokens", "token_hash", sorted("mfa-live")},
			{"mail_outbox", "id", sorted("mail-pending-old", "mail-sent-new")},
			{"login_throttle", "email", sorted("recent@example.com")},
			{"users", "email", sorted("prune@example.com")},
		}
		for _, r := range remain {
			if got := keysOf(t, raw, r.table, r.key); !reflect.DeepEqual(got, r.want) {
				t.Errorf("%s after the first pass: %v, want %v", r.table, got, r.want)
			}
		}
		// The spent token of the live family still triggers reuse
		// detection: it is found, spent, pointing at its successor.
		if got, err := db.RefreshTokenByHash(ctx, "b1"); err != nil || got.SpentAt.IsZero() || got.ReplacedBy != "b2" {
			t.Fatalf("spent token of a live family: %+v, %v", got, err)
		}

		// Second pass with a 90-day audit retention: only the old event
		// goes, nothing else is left to prune.
		res, err = db.Prune(ctx, store.PruneOptions{Now: now, AuditRetention: 90 * 24 * time.Hour})
		must(err)
		if !res.Ran || !reflect.DeepEqual(res.Rows, map[string]int64{"audit_events": 1}) || res.Total() != 1 {
			t.Fatalf("second pass = %+v, want one audit event", res)
		}
		if got := keysOf(t, raw, "audit_events", "type"); !reflect.DeepEqual(got, []string{"test.recent"}) {
			t.Fatalf("audit events after a 90-day retention: %v", got)
		}
	})
}

// TestPruneOneInstanceAtATime runs two instances' pruning loops on one
// Postgres database at once: at no moment do both hold the pruning lock,
// passes that find it taken do nothing, and every expired row is deleted
// exactly once.
func TestPruneOneInstanceAtATime(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	a, b := openMigrated(t, url), openMigrated(t, url)
	now := time.Now().UTC()
	const expired = 40
	for i := 0; i < expired; i++ {
		if err := a.DenyAccessToken(ctx, fmt.Sprintf("jti-%d", i), now.Add(-time.Minute), now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	var inside, overlaps, ran, skipped, deleted atomic.Int64
	hold := func() {
		if inside.Add(1) != 1 {
			overlaps.Add(1)
		}
		time.Sleep(15 * time.Millisecond)
		inside.Add(-1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, db := range []*store.DB{a, b} {
		wg.Add(1)
		go func(db *store.DB) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				res, err := db.Prune(ctx, store.PruneOptions{Now: now, Batch: 3, Pause: time.Millisecond, Holding: hold})
				if err != nil {
					errs <- err
					return
				}
				if res.Ran {
					ran.Add(1)
				} else {
					skipped.Add(1)
				}
				deleted.Add(res.Rows["revoked_tokens"])
			}
		}(db)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if overlaps.Load() != 0 {
		t.Fatalf("%d passes pruned while another held the lock", overlaps.Load())
	}
	if ran.Load() == 0 || skipped.Load() == 0 {
		t.Fatalf("ran %d, skipped %d: the two loops never contended", ran.Load(), skipped.Load())
	}
	if deleted.Load() != expired {
		t.Fatalf("deleted %d deny-list entries in all, want %d", deleted.Load(), expired)
	}
	// The lock is released after each pass: a third handle takes it.
	c := openMigrated(t, url)
	if res, err := c.Prune(ctx, store.PruneOptions{Now: now}); err != nil || !res.Ran {
		t.Fatalf("pass after the loops: %+v, %v", res, err)
	}
}
