package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store"
)

// syncBuffer is a goroutine-safe bytes.Buffer for captured output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is the configuration every test server starts with: a cheap
// argon2id cost (production cost has its own test) and an ephemeral port.
func testEnv(dbURL string, extra map[string]string) map[string]string {
	env := map[string]string{
		"SIGIL_ADDR":          "127.0.0.1:0",
		"SIGIL_DATABASE_URL":  dbURL,
		"SIGIL_ARGON2_MEMORY": "1024",
		"SIGIL_ARGON2_TIME":   "1",
		"SIGIL_LOG_LEVEL":     "warn",
		"SIGIL_RATE_LIMIT":    "0",
		// Every test client comes from 127.0.0.1: one client to the
		// per-client share of the hashing gate, which tests that need it
		// set again.
		"SIGIL_MAX_HASHES_PER_CLIENT": "0",
		"SIGIL_ISSUER":                "http://sigil.test",
		"SIGIL_ROTATION_PERIOD":       "0",
	}
	if strings.HasPrefix(dbURL, "postgres") {
		env["SIGIL_KEY_ENCRYPTION_KEY"] = "test:" + testKEK
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

const testKEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

const (
	adminEmail    = "root@example.com"
	adminPassword = "admin password 123"
)

// adminEnv is testEnv with a bootstrap administrator (SIGIL_ADMIN_EMAIL
// and SIGIL_ADMIN_PASSWORD); s.adminToken logs it in.
func adminEnv(dbURL string, extra map[string]string) map[string]string {
	env := testEnv(dbURL, extra)
	env["SIGIL_ADMIN_EMAIL"], env["SIGIL_ADMIN_PASSWORD"] = adminEmail, adminPassword
	return env
}

// adminToken logs the bootstrap administrator of adminEnv in.
func (s *server) adminToken(t testing.TB) string {
	t.Helper()
	return s.login(t, adminEmail, adminPassword).Token
}

// openDB opens the test's database, closed at the end of the test.
func openDB(t testing.TB, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// server is a Sigil started in-process by the real `serve` command.
type server struct {
	Base   string
	Issuer string
	stop   func()
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
	vars   map[string]string
}

// config returns the configuration the server was started with, for CLI
// commands against its database.
func (s *server) config() map[string]string { return s.vars }

var listenRE = regexp.MustCompile(`listening on (http://[0-9a-f.:\[\]]+)`)

// startServer runs `sigil serve` with env and waits until it listens.
func startServer(t testing.TB, env map[string]string) *server {
	t.Helper()
	return startServerClock(t, env, nil)
}

// startServerClock is startServer with the authority's clock set to now.
func startServerClock(t testing.TB, env map[string]string, now func() time.Time) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1), Issuer: env["SIGIL_ISSUER"], vars: env}
	e := environ(env, s.stdout, s.stderr)
	e.now = now
	go func() { s.done <- run(ctx, e) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.Base = m[1]
			break
		}
		select {
		case err := <-s.done:
			cancel()
			t.Fatalf("server exited before listening: %v\n%s", err, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not start:\n%s", s.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-s.done:
				if err != nil {
					t.Errorf("server exited with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("server did not shut down")
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func environ(vars map[string]string, stdout, stderr io.Writer) env {
	return env{args: []string{"serve"}, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(k string) string { return vars[k] }}
}

// runCLI runs a sigil subcommand in-process with env and returns its output.
func runCLI(t testing.TB, envm map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb syncBuffer
	e := environ(envm, &out, &errb)
	e.args = args
	e.stdin = strings.NewReader(stdin)
	err := run(context.Background(), e)
	return out.String(), errb.String(), err
}

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a request and returns the status, headers and body.
func do(t testing.TB, method, url, ctype, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (s *server) postJSON(t testing.TB, path string, v any, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, http.MethodPost, s.Base+path, "application/json", string(b), hdr...)
}

func (s *server) get(t testing.TB, path string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	return do(t, http.MethodGet, s.Base+path, "", "", hdr...)
}

type loginResult struct {
	Token        string `json:"token"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
	RefreshToken string `json:"refreshToken"`
	UserID       string `json:"userId"`
}

// signupLogin creates a user and logs in.
func (s *server) signupLogin(t testing.TB, email, password string) loginResult {
	t.Helper()
	st, _, body := s.postJSON(t, "/auth/signup", map[string]string{"email": email, "password": password, "name": "Test User"})
	if st != http.StatusCreated {
		t.Fatalf("signup %s: %d %s", email, st, body)
	}
	return s.login(t, email, password)
}

func (s *server) login(t testing.TB, email, password string) loginResult {
	t.Helper()
	st, _, body := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": password})
	if st != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, st, body)
	}
	var r loginResult
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func decode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
