package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
)

// The full seed: what a large deployment holds, with every row live, so
// that nothing of it is pruned while it is measured.
const (
	seedUsers   = 1_000_000
	seedRefresh = 10_000_000
	seedAudit   = 1_000_000
	seedRevoked = 100_000
	// seedFamily is how many tokens each refresh-token family has: the
	// older ones spent, each naming its successor, the newest live.
	seedFamily = 5
)

// seedCounts are the rows a seed writes per table.
type seedCounts struct{ users, refresh, audit, revoked int }

func countsAt(scale float64) seedCounts {
	n := func(full int) int { return max(1, int(float64(full)*scale)) }
	return seedCounts{n(seedUsers), n(seedRefresh), n(seedAudit), n(seedRevoked)}
}

// seedUserEmail is the email of seeded user i (0-based).
func seedUserEmail(i int) string { return fmt.Sprintf("seed-%07d@example.com", i) }
func seedUserID(i int) string    { return fmt.Sprintf("seed-user-%07d", i) }

// seedRefreshToken is the opaque refresh token whose hash is seeded row
// i; knowing it, a benchmark can present a seeded token.
func seedRefreshToken(i int) string { return fmt.Sprintf("seed-refresh-%08d", i) }

func seedHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// runSeed is `sigil-load seed`: migrate a database and fill it, fast, with
// users, refresh tokens, audit events and revoked access tokens. With
// explainOnly (`sigil-load explain`) it writes nothing and prints the
// plans of the hot queries.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer, explainOnly bool) error {
	name := "seed"
	if explainOnly {
		name = "explain"
	}
	fs := flag.NewFlagSet("sigil-load "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("db-url", "", "database to fill (postgres://… or sqlite:PATH); it is migrated first; required")
	scale := fs.Float64("scale", 1, "fraction of the full seed (1 = 1,000,000 users, 10,000,000 refresh tokens, 1,000,000 audit events, 100,000 revoked access tokens)")
	explain := fs.Bool("explain", false, "after seeding, print the plans of the hot queries")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sigil-load seed -db-url URL [-scale F] [-explain]\n       sigil-load explain -db-url URL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("seed: unexpected argument %q", fs.Arg(0))
	}
	if *dbURL == "" {
		return errors.New("seed: -db-url is required")
	}
	if *scale <= 0 || *scale > 10 {
		return fmt.Errorf("seed: -scale %g: use a number above 0 and at most 10", *scale)
	}
	s, err := openSeeder(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer s.close()
	if explainOnly {
		return s.explain(ctx, stdout)
	}
	c := countsAt(*scale)
	start := time.Now()
	if err := s.seed(ctx, c, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users, %d refresh tokens, %d audit events, %d revoked access tokens in %s\n",
		c.users, c.refresh, c.audit, c.revoked, time.Since(start).Round(time.Second))
	if *explain {
		return s.explain(ctx, stdout)
	}
	return nil
}

// seeder writes rows straight into a migrated Sigil database.
type seeder struct {
	dialect store.Dialect
	db      *sql.DB
	now     time.Time
	pwHash  string
}

func openSeeder(ctx context.Context, dbURL string) (*seeder, error) {
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	st.SetQueryTimeout(10 * time.Minute)
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	dialect := st.Dialect()
	st.Close()
	s := &seeder{dialect: dialect, now: time.Now().UTC()}
	if dialect == store.Postgres {
		s.db, err = sql.Open("postgres", dbURL)
	} else {
		// Bulk loading: no fsync per commit; the file is a benchmark's.
		s.db, err = sql.Open("sqlite", "file:"+store.SQLitePath(dbURL)+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	}
	if err != nil {
		return nil, err
	}
	s.db.SetMaxOpenConns(1)
	// Every seeded user has the same password hash, of a password no one
	// knows: seeded users make the table large, they never log in.
	s.pwHash, err = authority.DefaultArgon2.Hash(randomHex(16))
	if err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

func (s *seeder) close() { s.db.Close() }

// table is one table's seed: its columns and a generator of row i.
type seedTable struct {
	name string
	cols []string
	n    int
	row  func(i int, dst []any)
}

func (s *seeder) tables(c seedCounts) []seedTable {
	now := s.now.UnixMilli()
	const day = int64(24 * time.Hour / time.Millisecond)
	auditTypes := []string{"login.success", "login.failure", "refresh.rotated", "token.issued", "user.signup", "session.revoked"}
	return []seedTable{
		{"users", []string{"id", "email", "name", "password_hash", "is_admin", "created_at", "updated_at", "email_verified"}, c.users,
			func(i int, r []any) {
				at := now - int64(i%365)*day
				r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = seedUserID(i), seedUserEmail(i), "Seed User", s.pwHash, false, at, at, true
			}},
		// Families of seedFamily tokens, all unexpired (a family lives 30
		// days and began within the last 29), so pruning keeps them all.
		{"refresh_tokens", []string{"token_hash", "family_id", "user_id", "client_id", "scope", "created_at", "expires_at", "spent_at", "replaced_by", "user_agent", "ip"}, c.refresh,
			func(i int, r []any) {
				fam, pos := i/seedFamily, i%seedFamily
				born := now - int64(fam*7919%29)*day - int64(fam%86400)*1000
				created := born + int64(pos)*3600_000
				var spent, next any
				if pos < seedFamily-1 && i+1 < c.refresh {
					spent, next = created+3600_000, seedHash(seedRefreshToken(i+1))
				}
				r[0], r[1], r[2], r[3], r[4] = seedHash(seedRefreshToken(i)), "seed-family-"+strconv.Itoa(fam), seedUserID(fam%c.users), "sigil", ""
				r[5], r[6], r[7], r[8], r[9], r[10] = created, born+30*day, spent, next, "Mozilla/5.0 (seed)", "192.0.2.1"
			}},
		{"audit_events", []string{"at", "type", "actor", "user_id", "ip", "detail"}, c.audit,
			func(i int, r []any) {
				u := seedUserID(i * 7 % c.users)
				r[0], r[1], r[2], r[3], r[4], r[5] = now-int64(i%(89*86400))*1000, auditTypes[i%len(auditTypes)], u, u, "192.0.2.1", ""
			}},
		// Revoked access tokens still valid for one to two hours, so the
		// whole list is live while it is measured.
		{"revoked_tokens", []string{"jti", "expires_at", "revoked_at"}, c.revoked,
			func(i int, r []any) {
				r[0], r[1], r[2] = seedHash("seed-jti-" + strconv.Itoa(i))[:22], now+3600_000+int64(i%3600)*1000, now-int64(i%900)*1000
			}},
	}
}

func (s *seeder) seed(ctx context.Context, c seedCounts, stdout io.Writer) error {
	if s.dialect == store.Postgres {
		// Foreign keys are satisfied by construction; skipping their
		// triggers (allowed to a superuser) halves the load time.
		if _, err := s.db.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
			fmt.Fprintln(stdout, "note: foreign-key checks stay on:", err)
		}
		if _, err := s.db.ExecContext(ctx, `SET maintenance_work_mem = '512MB'`); err != nil {
			return err
		}
	}
	for _, t := range s.tables(c) {
		start := time.Now()
		// Secondary indexes are dropped for the load and built again
		// after it: one sorted build is many times faster than millions
		// of random insertions into them.
		indexes, err := s.dropIndexes(ctx, t.name)
		if err != nil {
			return fmt.Errorf("seed %s: %w", t.name, err)
		}
		if s.dialect == store.Postgres {
			err = s.copyIn(ctx, t)
		} else {
			err = s.insertMany(ctx, t)
		}
		loaded := time.Since(start)
		for _, ix := range indexes {
			if _, ierr := s.db.ExecContext(ctx, ix); ierr != nil && err == nil {
				err = fmt.Errorf("rebuild index: %s: %w", ix, ierr)
			}
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", t.name, err)
		}
		el := time.Since(start)
		fmt.Fprintf(stdout, "%-15s %10d rows in %8s (%.0f rows/s; %d indexes rebuilt in %s)\n", t.name, t.n, el.Round(time.Millisecond),
			float64(t.n)/el.Seconds(), len(indexes), (el - loaded).Round(time.Millisecond))
	}
	// Fresh statistics, so the plans are those of the grown tables.
	_, err := s.db.ExecContext(ctx, `ANALYZE`)
	return err
}

// dropIndexes drops the indexes of table that back no constraint and
// returns the statements that create them again.
func (s *seeder) dropIndexes(ctx context.Context, table string) ([]string, error) {
	var q string
	if s.dialect == store.Postgres {
		q = `SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = current_schema() AND tablename = $1
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`
	} else {
		q = `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`
	}
	rows, err := s.db.QueryContext(ctx, q, table)
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := s.db.ExecContext(ctx, `DROP INDEX `+n); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

// seedTxRows is how many rows one transaction writes.
const seedTxRows = 100_000

// copyStatement is the COPY … FROM STDIN statement lib/pq turns into a
// bulk load when it is prepared.
func copyStatement(table string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pq.QuoteIdentifier(c)
	}
	return "COPY " + pq.QuoteIdentifier(table) + " (" + strings.Join(q, ", ") + ") FROM STDIN"
}

// copyIn loads a Postgres table with COPY, one transaction per
// seedTxRows rows.
func (s *seeder) copyIn(ctx context.Context, t seedTable) error {
	row := make([]any, len(t.cols))
	for lo := 0; lo < t.n; lo += seedTxRows {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, copyStatement(t.name, t.cols))
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := lo; i < min(t.n, lo+seedTxRows); i++ {
			t.row(i, row)
			if _, err := stmt.ExecContext(ctx, row...); err != nil {
				tx.Rollback()
				return err
			}
		}
		if _, err := stmt.ExecContext(ctx); err != nil {
			tx.Rollback()
			return err
		}
		if err := stmt.Close(); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// insertMany loads an SQLite table with multi-row INSERTs of seedStmtRows
// rows, one transaction per seedTxRows rows.
func (s *seeder) insertMany(ctx context.Context, t seedTable) error {
	const stmtRows = 200
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	prefix := "INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES "
	full := prefix + strings.TrimSuffix(strings.Repeat(one+", ", stmtRows), ", ")
	row := make([]any, len(t.cols))
	args := make([]any, 0, stmtRows*len(t.cols))
	for lo := 0; lo < t.n; lo += seedTxRows {
		hi := min(t.n, lo+seedTxRows)
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, full)
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := lo; i < hi; i += stmtRows {
			args = args[:0]
			k := min(stmtRows, hi-i)
			for j := i; j < i+k; j++ {
				t.row(j, row)
				args = append(args, row...)
			}
			if k == stmtRows {
				_, err = stmt.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, prefix+strings.TrimSuffix(strings.Repeat(one+", ", k), ", "), args...)
			}
			if err != nil {
				stmt.Close()
				tx.Rollback()
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// hotQueries are the queries of the paths measured on a grown database,
// as the store sends them, with arguments that hit seeded rows.
func (s *seeder) hotQueries() []struct{ name, query string } {
	q := []struct{ name, query string }{
		{"user by email (login)", `SELECT id, email, password_hash FROM users WHERE email = '` + seedUserEmail(1) + `'`},
		{"refresh token by hash (refresh)", `SELECT token_hash, family_id, expires_at, spent_at FROM refresh_tokens WHERE token_hash = '` + seedHash(seedRefreshToken(1)) + `'`},
		{"refresh family (reuse, revocation)", `SELECT token_hash FROM refresh_tokens WHERE family_id = 'seed-family-1' ORDER BY created_at, token_hash`},
		{"client by id (token, introspect)", `SELECT id, secret_hash FROM clients WHERE id = 'sigil-load'`},
		{"deny list after a sequence number (each instance's reload)", `SELECT seq, jti, expires_at, revoked_at FROM revoked_tokens WHERE seq > (SELECT MAX(seq) - 100 FROM revoked_tokens) AND expires_at >= ` + strconv.FormatInt(s.now.UnixMilli(), 10) + ` ORDER BY seq`},
		{"deny entry by jti (revoke)", `SELECT jti FROM revoked_tokens WHERE jti = 'x'`},
		{"audit page (console)", `SELECT id, at, type FROM audit_events WHERE 1=1 ORDER BY id DESC LIMIT 100`},
		{"audit page of a user (console)", `SELECT id, at, type FROM audit_events WHERE 1=1 AND user_id = '` + seedUserID(7) + `' ORDER BY id DESC LIMIT 100`},
		{"audit page of a type (console)", `SELECT id, at, type FROM audit_events WHERE 1=1 AND type = 'login.failure' ORDER BY id DESC LIMIT 100`},
		{"sessions of a user (account page)", `SELECT family_id, MIN(created_at) FROM refresh_tokens WHERE user_id = '` + seedUserID(1) + `' GROUP BY family_id`},
		{"pruning batch (refresh tokens)", `SELECT t.token_hash FROM refresh_tokens t WHERE expires_at < ` + strconv.FormatInt(s.now.UnixMilli(), 10) + ` AND NOT EXISTS (SELECT 1 FROM refresh_tokens f WHERE f.family_id = t.family_id AND f.expires_at >= ` + strconv.FormatInt(s.now.UnixMilli(), 10) + `) LIMIT 1000`},
		{"pruning batch (audit)", `SELECT t.id FROM audit_events t WHERE at < ` + strconv.FormatInt(s.now.Add(-90*24*time.Hour).UnixMilli(), 10) + ` LIMIT 1000`},
	}
	return q
}

// explain prints each hot query's plan: EXPLAIN ANALYZE on Postgres,
// EXPLAIN QUERY PLAN on SQLite.
func (s *seeder) explain(ctx context.Context, out io.Writer) error {
	for _, h := range s.hotQueries() {
		lines, err := s.plan(ctx, h.query)
		if err != nil {
			return fmt.Errorf("explain %s: %w", h.name, err)
		}
		fmt.Fprintf(out, "\n-- %s\n%s\n", h.name, strings.Join(lines, "\n"))
	}
	return nil
}

func (s *seeder) plan(ctx context.Context, query string) ([]string, error) {
	var lines []string
	if s.dialect == store.Postgres {
		rows, err := s.db.QueryContext(ctx, `EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF) `+query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				return nil, err
			}
			lines = append(lines, l)
		}
		return lines, rows.Err()
	}
	rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		lines = append(lines, detail)
	}
	return lines, rows.Err()
}
