package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// signedUp is a signup the authority acknowledged.
type signedUp struct{ email, password string }

// session is one client's refresh chain: the newest refresh token it
// received, and whether its last refresh request (presenting that token)
// got no answer because the server was killed.
type session struct {
	newest string
	lost   bool
}

// crashLoad is what the clients of one crash test saw acknowledged.
type crashLoad struct {
	mu       sync.Mutex
	accounts []signedUp
	logins   []string   // refresh tokens /auth/login answered with
	sessions []*session // every refresh chain
	kids     []string   // kids POST /admin/keys/rotate answered 201 with

	cliRotated, cliKilled, refreshed, rotateLost atomic.Int64
}

// SIGKILL a real `sigil serve` process, a few times over, in the middle of
// signups, logins, refresh chains and admin rotations over HTTP, while
// `sigil keys rotate` processes rotate too (some killed mid-flight).
// Afterwards the database holds no half-written state, the authority
// restarts, and nothing a client was told has been lost:
//
//   - every acknowledged signup logs in;
//   - every refresh token a login answered with is stored;
//   - every refresh family has at most one live (unspent, unrevoked,
//     unexpired) token, and no refresh token names a missing user;
//   - exactly one key is active, the key history has no gaps, and every
//     kid an admin rotation acknowledged is in it;
//   - every session's newest refresh token refreshes once more. A token
//     whose refresh answer was lost is either still unspent (the kill came
//     before the commit) or spent with a live successor the client never
//     saw (after the commit): the retry then succeeds within
//     SIGIL_REFRESH_REUSE_GRACE (1 h here, so it cannot run out during the
//     test) and the unseen successor is revoked. An acknowledged token
//     whose answer was not lost must still be unspent. Either way the
//     family has exactly one live token afterwards.
func TestCrashLeavesNoHalfWrittenState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real processes")
	}
	bin := buildSigil(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, map[string]string{
			"SIGIL_KEY_ENCRYPTION_KEY": "test:" + testKEK, "SIGIL_LOG_LEVEL": "error",
			"SIGIL_ADMIN_EMAIL": adminEmail, "SIGIL_ADMIN_PASSWORD": adminPassword,
			"SIGIL_REFRESH_REUSE_GRACE": "1h",
		})
		load := &crashLoad{}
		for round := 0; round < 3; round++ {
			p := startSigilProc(t, fmt.Sprintf("sigil-round-%d", round), bin, env)
			admin := p.adminToken(t)
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ctx.Err() == nil; i++ {
						if !load.signupLoginRefresh(t, p.Base, fmt.Sprintf("r%d-w%d-%d-%x@example.com", round, w, i, rand.Uint32())) {
							return // the server is gone
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				load.rotateOverHTTP(ctx, t, p.Base, admin)
			}()
			wg.Add(1)
			go func() {
				defer wg.Done()
				load.rotateFromCLI(ctx, t, bin, env)
			}()
			time.Sleep(time.Duration(600+rand.IntN(600)) * time.Millisecond)
			p.kill(t)
			stop()
			wg.Wait()
		}
		t.Logf("rotations: %d acknowledged over HTTP, %d lost with the server; from the CLI %d completed, %d killed",
			len(load.kids), load.rotateLost.Load(), load.cliRotated.Load(), load.cliKilled.Load())
		t.Logf("%d signups, %d sessions, %d refreshes acknowledged over 3 crashes", len(load.accounts), len(load.sessions), load.refreshed.Load())
		if len(load.accounts) < 10 || load.refreshed.Load() < 10 {
			t.Fatalf("too little acknowledged under load: %d signups, %d refreshes", len(load.accounts), load.refreshed.Load())
		}
		checkConsistent(t, dbURL, load)

		p := startSigilProc(t, "sigil-after", bin, env)
		load.checkAccountsLogIn(t, p.Base)
		load.checkSessionsRefresh(t, dbURL, p.Base)
	})
}

// signupLoginRefresh signs an account up, logs in and refreshes a few
// times, recording what was acknowledged. It returns false once the server
// no longer answers.
func (l *crashLoad) signupLoginRefresh(t *testing.T, base, email string) bool {
	a := signedUp{email, fmt.Sprintf("pw-%x-long", rand.Uint64())}
	st, body, err := rawPost(base+"/auth/signup", fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password))
	if err != nil {
		return false
	}
	if st != http.StatusCreated {
		t.Errorf("signup: %d %s", st, body)
		return false
	}
	l.mu.Lock()
	l.accounts = append(l.accounts, a)
	l.mu.Unlock()
	st, body, err = rawPost(base+"/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password))
	if err != nil {
		return false
	}
	var lr loginResult
	if st != http.StatusOK || json.Unmarshal([]byte(body), &lr) != nil {
		t.Errorf("login: %d %s", st, body)
		return false
	}
	s := &session{newest: lr.RefreshToken}
	l.mu.Lock()
	l.logins = append(l.logins, lr.RefreshToken)
	l.sessions = append(l.sessions, s)
	l.mu.Unlock()
	for range 1 + rand.IntN(4) {
		st, body, err := rawPost(base+"/auth/refresh", fmt.Sprintf(`{"refreshToken":%q}`, s.newest))
		if err != nil {
			l.mu.Lock()
			s.lost = true
			l.mu.Unlock()
			return false
		}
		if st != http.StatusOK || json.Unmarshal([]byte(body), &lr) != nil || lr.RefreshToken == "" {
			t.Errorf("refresh: %d %s", st, body)
			return false
		}
		l.mu.Lock()
		s.newest = lr.RefreshToken
		l.mu.Unlock()
		l.refreshed.Add(1)
	}
	return true
}

// rotateOverHTTP rotates the signing key through the admin API until ctx
// ends or the server is gone, recording the acknowledged kids.
func (l *crashLoad) rotateOverHTTP(ctx context.Context, t *testing.T, base, admin string) {
	algs := []string{"", `{"alg":"EdDSA"}`, `{"alg":"ES256"}`}
	for i := 0; ctx.Err() == nil; i++ {
		st, body, err := rawDo(http.MethodPost, base+"/admin/keys/rotate", algs[i%len(algs)], bearer(admin)...)
		if err != nil {
			l.rotateLost.Add(1)
			return
		}
		var r struct{ KID string }
		if st != http.StatusCreated || json.Unmarshal([]byte(body), &r) != nil || r.KID == "" {
			t.Errorf("rotate over HTTP: %d %s", st, body)
			return
		}
		l.mu.Lock()
		l.kids = append(l.kids, r.KID)
		l.mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
	}
}

// rotateFromCLI runs `sigil keys rotate` processes until ctx ends, killing
// some at once, some mid-transaction, and letting some finish.
func (l *crashLoad) rotateFromCLI(ctx context.Context, t *testing.T, bin string, env map[string]string) {
	for ctx.Err() == nil {
		cmd := exec.Command(bin, "keys", "rotate")
		cmd.Env = processEnv(env)
		if err := cmd.Start(); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		if cmd.Wait() == nil {
			l.cliRotated.Add(1)
		} else {
			l.cliKilled.Add(1)
		}
	}
}

// checkAccountsLogIn logs every acknowledged signup in.
func (l *crashLoad) checkAccountsLogIn(t *testing.T, base string) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, a := range l.accounts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, body, err := rawPost(base+"/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password))
			if err != nil || st != http.StatusOK {
				t.Errorf("acknowledged signup %s cannot log in after the crashes: %d %s %v", a.email, st, body, err)
			}
		}()
	}
	wg.Wait()
}

// checkSessionsRefresh presents every session's newest refresh token once
// more (see TestCrashLeavesNoHalfWrittenState for what must happen).
func (l *crashLoad) checkSessionsRefresh(t *testing.T, dbURL, base string) {
	db := openDB(t, dbURL)
	ctx := context.Background()
	var unspent, lostUncommitted, lostCommitted int
	for _, s := range l.sessions {
		before, err := db.RefreshTokenByHash(ctx, authority.RefreshTokenKey(s.newest))
		if err != nil {
			t.Errorf("a session's newest refresh token is not stored: %v", err)
			continue
		}
		if !before.RevokedAt.IsZero() {
			t.Errorf("a session's newest refresh token was revoked by the crashes")
			continue
		}
		switch {
		case before.SpentAt.IsZero() && s.lost:
			lostUncommitted++
		case before.SpentAt.IsZero():
			unspent++
		case !s.lost:
			t.Errorf("an acknowledged refresh token was spent though no request presenting it was lost")
			continue
		default:
			// Spent by the request whose answer was lost: its successor
			// must be the family's one live token.
			next, err := db.RefreshTokenByHash(ctx, before.ReplacedBy)
			if err != nil || next.FamilyID != before.FamilyID || !next.SpentAt.IsZero() || !next.RevokedAt.IsZero() {
				t.Errorf("a refresh committed before the crash has no live successor: %+v %v", next.SpentAt, err)
				continue
			}
			lostCommitted++
		}
		st, body, err := rawPost(base+"/auth/refresh", fmt.Sprintf(`{"refreshToken":%q}`, s.newest))
		if err != nil || st != http.StatusOK {
			t.Errorf("a session's newest refresh token (answer lost: %t, spent: %t) does not refresh after the crashes: %d %s %v",
				s.lost, !before.SpentAt.IsZero(), st, body, err)
			continue
		}
		if n := liveInFamily(t, db, s.newest); n != 1 {
			t.Errorf("family has %d live tokens after the post-crash refresh, want 1", n)
		}
	}
	t.Logf("post-crash refresh of %d sessions: %d acknowledged and unspent, %d answers lost before the commit, %d lost after it (grace retry)",
		len(l.sessions), unspent, lostUncommitted, lostCommitted)
}

// rawPost posts a JSON body; an error means the server did not answer.
func rawPost(u, body string) (int, string, error) {
	return rawDo(http.MethodPost, u, body)
}

// rawDo is do without a testing.T, for load goroutines that must tell a
// lost answer (an error) from a bad one.
func rawDo(method, u, body string, hdr ...string) (int, string, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, b.String(), nil
}

// checkConsistent looks at the database the crashes left behind.
func checkConsistent(t *testing.T, dbURL string, load *crashLoad) {
	t.Helper()
	dialect, src, err := store.ParseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	driver, dsn := "postgres", src
	if dialect == store.SQLite {
		driver, dsn = "sqlite", "file:"+src
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string, args ...any) int {
		t.Helper()
		if dialect == store.Postgres {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
			}
		}
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	now := time.Now().UnixMilli()
	checks := []struct {
		what string
		q    string
		want int
	}{
		{"users without an argon2id hash", `SELECT COUNT(*) FROM users WHERE password_hash NOT LIKE '$argon2id$%' OR email = ''`, 0},
		{"active keys", `SELECT COUNT(*) FROM signing_keys WHERE state = 'active'`, 1},
		{"active or pending keys without a sealed private key", `SELECT COUNT(*) FROM signing_keys WHERE state IN ('active', 'pending') AND (sealed_key IS NULL OR sealed_key = '')`, 0},
		{"active keys not activated", `SELECT COUNT(*) FROM signing_keys WHERE state = 'active' AND activated_at IS NULL`, 0},
		{"retired keys without retirement times", `SELECT COUNT(*) FROM signing_keys WHERE state = 'retired' AND (retired_at IS NULL OR expires_at IS NULL)`, 0},
		{"keys without a public JWK", `SELECT COUNT(*) FROM signing_keys WHERE public_jwk = ''`, 0},
		{"refresh tokens of missing users", `SELECT COUNT(*) FROM refresh_tokens r LEFT JOIN users u ON u.id = r.user_id WHERE u.id IS NULL`, 0},
		{"refresh families with more than one live token", fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT family_id FROM refresh_tokens
			WHERE spent_at IS NULL AND revoked_at IS NULL AND expires_at > %d GROUP BY family_id HAVING COUNT(*) > 1) f`, now), 0},
		{"spent refresh tokens without a stored successor", `SELECT COUNT(*) FROM refresh_tokens r LEFT JOIN refresh_tokens n ON n.token_hash = r.replaced_by
			WHERE r.spent_at IS NOT NULL AND n.token_hash IS NULL`, 0},
	}
	for _, c := range checks {
		if n := count(c.q); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}
	for _, rt := range load.logins {
		if count(`SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = ?`, authority.RefreshTokenKey(rt)) != 1 {
			t.Errorf("an acknowledged login's refresh token is not stored")
		}
	}

	sdb := openDB(t, dbURL)
	recs, err := sdb.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, activated := checkKeyHistory(t, recs)
	for _, kid := range load.kids {
		if !historyHas(activated, kid) {
			t.Errorf("rotation over HTTP answered 201 with %s, which is not in the key history", kid)
		}
	}
	t.Logf("%d keys (%d ever active), %d users, %d refresh tokens after the crashes",
		len(recs), len(activated), count(`SELECT COUNT(*) FROM users`), count(`SELECT COUNT(*) FROM refresh_tokens`))
}
