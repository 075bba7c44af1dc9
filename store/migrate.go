package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations
var migrationFS embed.FS

// migrationLockID is the Postgres advisory lock taken while migrating, so
// that instances starting together apply each migration exactly once.
const migrationLockID = 0x5161_0001

type migration struct {
	version int
	name    string
	sql     string
}

func (d *DB) migrations() ([]migration, error) {
	dir := "migrations/" + string(d.dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// MigrationNames returns the file names, without .sql, of the migrations
// with the given versions ("0006_accounts"), for logs: the numbers alone
// read as if one were missing where the sequence has a gap (there has
// never been a migration 5; the numbers are kept because databases
// record them).
func (d *DB) MigrationNames(versions []int) []string {
	ms, _ := d.migrations()
	names := make([]string, 0, len(versions))
	for _, v := range versions {
		name := strconv.Itoa(v)
		for _, m := range ms {
			if m.version == v {
				name = strings.TrimSuffix(m.name, ".sql")
			}
		}
		names = append(names, name)
	}
	return names
}

// SchemaVersion returns the newest migration applied, 0 for an empty database.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := d.db.GetContext(ctx, &v, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	return v, err
}

// LatestVersion returns the newest migration this binary knows.
func (d *DB) LatestVersion() int {
	ms, err := d.migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate applies every pending migration, each in its own transaction. On
// Postgres it holds an advisory lock for the whole run, so concurrent
// instances wait for each other instead of racing on the schema. It
// returns the versions it applied.
func (d *DB) Migrate(ctx context.Context) ([]int, error) {
	ms, err := d.migrations()
	if err != nil {
		return nil, err
	}
	pool := d.w
	if d.dialect == Postgres {
		// Migrations may legitimately run, or wait for another instance's
		// migration lock, longer than the query deadline the main pool's
		// connections enforce; they get a connection without it.
		_, src, _ := ParseURL(d.url)
		if pool, err = sqlx.Open("postgres", src); err != nil {
			return nil, fmt.Errorf("open postgres for migrations: %w", err)
		}
		defer pool.Close()
	}
	conn, err := pool.Connx(ctx)
	if err != nil {
		return nil, d.wrap(err)
	}
	defer conn.Close()
	if d.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
			return nil, d.wrap(fmt.Errorf("take migration lock: %w", err))
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, d.wrap(fmt.Errorf("create schema_migrations: %w", err))
	}
	var applied []int
	for _, m := range ms {
		done, err := d.applyOne(ctx, conn, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

func (d *DB) applyOne(ctx context.Context, conn *sqlx.Conn, m migration) (bool, error) {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, d.wrap(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, d.db.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// CheckSchema fails when the database lacks migrations this binary needs.
func (d *DB) CheckSchema(ctx context.Context) error {
	v, err := d.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("database is not migrated (run `sigil migrate`): %w", err)
	}
	if latest := d.LatestVersion(); v < latest {
		return fmt.Errorf("database schema is at version %d, this sigil needs %d: run `sigil migrate`", v, latest)
	}
	return nil
}
