package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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

// buildSigil builds the sigil command into a directory removed after t.
func buildSigil(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func processEnv(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// proc is a sigil serve OS process.
type proc struct {
	cmd    *exec.Cmd
	Base   string
	stdout *syncBuffer
	stderr *syncBuffer
}

func startProcess(t *testing.T, bin string, env map[string]string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = processEnv(env)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(p.stdout.String()); m != nil {
			p.Base = m[1]
			return p
		}
		select {
		case <-exited:
			t.Fatalf("sigil serve exited before listening:\n%s", p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sigil serve did not start:\n%s", p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// account is a signup the authority acknowledged.
type account struct{ email, password string }

// SIGKILL a real `sigil serve` process in the middle of signups, logins and
// key rotations (and kill rotating `sigil keys rotate` processes too), a
// few times over; afterwards the database holds no half-written state,
// the authority restarts, and every acknowledged signup can log in.
func TestCrashLeavesNoHalfWrittenState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real processes")
	}
	bin := buildSigil(t)
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, map[string]string{"SIGIL_KEY_ENCRYPTION_KEY": "test:" + testKEK, "SIGIL_LOG_LEVEL": "error"})
		var (
			mu        sync.Mutex
			acked     []account
			refreshes []string
			rotated   atomic.Int64
			killed    atomic.Int64
		)
		for round := 0; round < 3; round++ {
			p := startProcess(t, bin, env)
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ctx.Err() == nil; i++ {
						a := account{fmt.Sprintf("r%d-w%d-%d-%x@example.com", round, w, i, rand.Uint32()), fmt.Sprintf("pw-%x-long", rand.Uint64())}
						st, body, err := rawPost(p.Base+"/auth/signup", fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password))
						if err != nil {
							return // the server is gone
						}
						if st != 201 {
							t.Errorf("signup: %d %s", st, body)
							return
						}
						mu.Lock()
						acked = append(acked, a)
						mu.Unlock()
						st, body, err = rawPost(p.Base+"/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password))
						if err != nil {
							return
						}
						var lr loginResult
						if st == 200 && json.Unmarshal([]byte(body), &lr) == nil {
							mu.Lock()
							refreshes = append(refreshes, lr.RefreshToken)
							mu.Unlock()
						}
					}
				}()
			}
			// Key rotations in separate processes, some killed mid-flight.
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					cmd := exec.Command(bin, "keys", "rotate")
					cmd.Env = processEnv(env)
					if err := cmd.Start(); err != nil {
						t.Error(err)
						return
					}
					// Kill some at once, some mid-transaction, let some finish.
					time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
					cmd.Process.Signal(syscall.SIGKILL)
					if cmd.Wait() == nil {
						rotated.Add(1)
					} else {
						killed.Add(1)
					}
				}
			}()
			time.Sleep(time.Duration(600+rand.IntN(600)) * time.Millisecond)
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			stop()
			wg.Wait()
		}
		t.Logf("key rotations: %d completed, %d killed", rotated.Load(), killed.Load())
		checkConsistent(t, dbURL, refreshes)

		p := startProcess(t, bin, env)
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 10 {
			t.Fatalf("only %d signups acknowledged under load", len(acked))
		}
		t.Logf("%d acknowledged signups over 3 crashes", len(acked))
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		for _, a := range acked {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				st, body, err := rawPost(p.Base+"/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password))
				if err != nil || st != 200 {
					t.Errorf("acknowledged signup %s cannot log in after the crashes: %d %s %v", a.email, st, body, err)
				}
			}()
		}
		wg.Wait()
	})
}

func rawPost(u, body string) (int, string, error) {
	resp, err := client.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, b.String(), nil
}

// checkConsistent looks at the database a crash left behind.
func checkConsistent(t *testing.T, dbURL string, refreshes []string) {
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
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
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
	}
	for _, c := range checks {
		if n := count(c.q); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}
	for _, rt := range refreshes {
		if count(`SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = ?`, authority.HashToken(rt)) != 1 {
			t.Errorf("an acknowledged login's refresh token is not stored")
		}
	}
	t.Logf("%d keys, %d users, %d refresh tokens after the crashes",
		count(`SELECT COUNT(*) FROM signing_keys`), count(`SELECT COUNT(*) FROM users`), count(`SELECT COUNT(*) FROM refresh_tokens`))
}
