package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the admin connection that creates databases
)

// DefaultPostgresURL is the server the tests use unless
// SIGIL_TEST_POSTGRES_URL says otherwise.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backend names a database backend under test.
type Backend struct {
	Name string
	// NewURL returns the SIGIL_DATABASE_URL of a fresh, empty database.
	NewURL func(t testing.TB) string
}

// Backends returns SQLite and Postgres.
func Backends() []Backend {
	return []Backend{{"sqlite", SQLiteURL}, {"postgres", PostgresURL}}
}

// Each runs fn as a subtest once per backend, each with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.NewURL(t)) })
	}
}

// SQLiteURL returns the URL of a new SQLite file in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "sigil.db")
}

func adminURL() string {
	if u := os.Getenv("SIGIL_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// RequirePostgres reports whether Postgres tests must fail rather than skip
// when the server is unreachable.
func RequirePostgres() bool {
	return os.Getenv("CI") == "true" || os.Getenv("SIGIL_TEST_REQUIRE_POSTGRES") == "1"
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

func admin() (*sql.DB, error) {
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("postgres", adminURL())
		if adminErr == nil {
			adminDB.SetMaxOpenConns(4)
			adminErr = adminDB.Ping()
		}
	})
	return adminDB, adminErr
}

// PostgresURL creates a new database on the test server, returns its URL,
// and drops it when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	db, err := admin()
	if err != nil {
		if RequirePostgres() {
			t.Fatalf("postgres at %s is unreachable (required here): %v", redact(adminURL()), err)
		}
		t.Skipf("postgres unreachable, skipping (set CI=true to make this fail): %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "sigil_test_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		// Connections of the server under test may linger a moment.
		for i := 0; i < 50; i++ {
			_, _ = db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
			if _, err := db.Exec(`DROP DATABASE IF EXISTS ` + name); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not drop test database %s", name)
	})
	u, err := url.Parse(adminURL())
	if err != nil {
		t.Fatalf("SIGIL_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable url)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return strings.TrimSpace(u.String())
}
