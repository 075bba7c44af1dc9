package main

import (
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// writeCounter counts, with database triggers, every row inserted,
// updated or deleted in a set of tables, whoever writes it: the test sees
// the writes the server makes without asking the server.
type writeCounter struct {
	t  *testing.T
	db *sql.DB
}

// pollWatched are the tables a poll could plausibly write: the device
// authorization itself, the audit log, the login throttle, tokens.
var pollWatched = []string{"device_authorizations", "audit_events", "login_throttle", "refresh_tokens", "revoked_tokens"}

func countWrites(t *testing.T, dbURL string, tables ...string) *writeCounter {
	t.Helper()
	dialect, src, err := store.ParseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	driver := "postgres"
	if dialect == store.SQLite {
		driver = "sqlite"
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	stmts := []string{`CREATE TABLE test_writes (tbl TEXT NOT NULL, op TEXT NOT NULL)`}
	if dialect == store.SQLite {
		for _, tbl := range tables {
			for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
				stmts = append(stmts, `CREATE TRIGGER test_writes_`+tbl+`_`+op+` AFTER `+op+` ON `+tbl+
					` BEGIN INSERT INTO test_writes VALUES ('`+tbl+`', '`+op+`'); END`)
			}
		}
	} else {
		stmts = append(stmts, `CREATE FUNCTION test_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO test_writes VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$`)
		for _, tbl := range tables {
			stmts = append(stmts, `CREATE TRIGGER test_writes AFTER INSERT OR UPDATE OR DELETE ON `+tbl+
				` FOR EACH ROW EXECUTE FUNCTION test_count_write()`)
		}
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return &writeCounter{t: t, db: db}
}

// take returns the writes counted since the last take ("table OP" each)
// and forgets them.
func (w *writeCounter) take() []string {
	w.t.Helper()
	rows, err := w.db.Query(`SELECT tbl, op FROM test_writes`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tbl, op string
		if err := rows.Scan(&tbl, &op); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, tbl+" "+op)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.Exec(`DELETE FROM test_writes`); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// A poll of a device code the user has not answered writes nothing, on
// time (authorization_pending) or too soon (slow_down): the database's
// own triggers count no insert, update or delete in any table a poll
// could touch. The same triggers do see the writes of the grant (the
// device authorization's insert, the decision, the redemption and the
// refresh token), so they would see a poll's.
func TestDevicePendingPollsWriteNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		clock := newTestClock()
		f := newDeviceFixture(t, dbURL, clock.Now)
		w := countWrites(t, dbURL, pollWatched...)
		st, _, body := f.s.postForm(t, "/oauth2/device_authorization", url.Values{"client_id": {f.clientID}, "scope": {"openid"}})
		var da struct {
			DeviceCode              string `json:"device_code"`
			UserCode                string `json:"user_code"`
			VerificationURIComplete string `json:"verification_uri_complete"`
		}
		decode(t, body, &da)
		if st != http.StatusOK {
			t.Fatalf("device authorization: %d %s", st, body)
		}
		if got := strings.Join(w.take(), ","); !strings.Contains(got, "device_authorizations INSERT") {
			t.Fatalf("the triggers did not see the device authorization stored: %q", got)
		}
		// Eight rounds of a poll on time and one at once: the interval
		// grows by 5 s with each slow_down, to 45 s; 9 × 60 s stays
		// inside the code's 10 minutes.
		for i := range 8 {
			clock.Add(time.Minute)
			for _, want := range []string{"authorization_pending", "slow_down"} {
				if st, m := f.poll(t, da.DeviceCode, nil); st != http.StatusBadRequest || m["error"] != want {
					t.Fatalf("poll %d: %d %v, want %s", i, st, m, want)
				}
			}
		}
		if got := w.take(); len(got) != 0 {
			t.Errorf("16 pending polls wrote %v, want nothing", got)
		}

		_, done := f.confirm(t, newBrowserless(t, f.iss), da.VerificationURIComplete, da.UserCode, "allow")
		if done.Status != http.StatusOK {
			t.Fatalf("allow: %d\n%.500s", done.Status, done.Body)
		}
		if got := strings.Join(w.take(), ","); !strings.Contains(got, "device_authorizations UPDATE") {
			t.Errorf("the decision was not seen as a write: %q", got)
		}
		clock.Add(time.Minute)
		if st, m := f.poll(t, da.DeviceCode, nil); st != http.StatusOK || m["refresh_token"] == nil {
			t.Fatalf("poll after allow: %d %v", st, m)
		}
		got := strings.Join(w.take(), ",")
		for _, want := range []string{"device_authorizations UPDATE", "refresh_tokens INSERT"} {
			if !strings.Contains(got, want) {
				t.Errorf("issuing the tokens wrote %q, want %s among them", got, want)
			}
		}
	})
}
