package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/store/storetest"
)

// hangGuard is a client whose timeout only detects hangs: an answer that
// takes longer than this is a failure to answer, not a slow answer.
var hangGuard = &http.Client{Timeout: 20 * time.Second}

func timedDo(t *testing.T, method, u, body string, hdr ...string) (int, http.Header, string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	start := time.Now()
	resp, err := hangGuard.Do(req)
	if err != nil {
		t.Fatalf("%s %s did not answer: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), time.Since(start)
}

// With the database cut off or hanging, login and signup answer 503
// problem+json after the query deadline instead of hanging, /readyz says
// 503, the JWKS, discovery and /auth/me keep answering from memory, and
// once the database is back everything works again without a restart.
func TestDatabaseOutageAndRecovery(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.Addr()
	// EdDSA: the first key is generated inside the bootstrap transaction,
	// and an RSA key under the race detector on a busy machine can take
	// longer than this short query deadline.
	s := startServer(t, testEnv(u.String(), map[string]string{"SIGIL_DATABASE_TIMEOUT": "2s", "SIGIL_SIGNING_ALG": "EdDSA"}))
	lr := s.signupLogin(t, "before@example.com", "password123")

	for i, fault := range []struct {
		name  string
		apply func()
	}{
		{"cut", proxy.Cut},
		{"stall", proxy.Stall},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.apply()
			for _, c := range []struct{ path, body string }{
				{"/auth/login", `{"email":"before@example.com","password":"password123"}`},
				{"/auth/signup", fmt.Sprintf(`{"email":"during%d@example.com","password":"password123"}`, i)},
			} {
				st, h, body, took := timedDo(t, http.MethodPost, s.Base+c.path, c.body)
				if st != 503 || h.Get("Content-Type") != "application/problem+json" || h.Get("Retry-After") == "" || !strings.Contains(body, "unavailable") {
					t.Fatalf("%s during %s: %d %v %s; want 503 problem with Retry-After\n%s", c.path, fault.name, st, h, body, s.stderr.String())
				}
				t.Logf("%s answered 503 after %s with the database %s", c.path, took.Round(time.Millisecond), fault.name)
			}
			st, _, body, took := timedDo(t, http.MethodGet, s.Base+"/readyz", "")
			if st != 503 {
				t.Fatalf("/readyz during %s: %d %s", fault.name, st, body)
			}
			t.Logf("/readyz answered 503 after %s", took.Round(time.Millisecond))
			for _, p := range []string{"/.well-known/jwks.json", "/.well-known/openid-configuration", "/healthz"} {
				if st, _, body, _ := timedDo(t, http.MethodGet, s.Base+p, ""); st != 200 {
					t.Fatalf("%s during %s: %d %s", p, fault.name, st, body)
				}
			}
			st, _, body, _ = timedDo(t, http.MethodGet, s.Base+"/auth/me", "", bearer(lr.Token)...)
			if st != 200 || !strings.Contains(body, "before@example.com") || !strings.Contains(body, "Test User") {
				t.Fatalf("/auth/me during %s: %d %s", fault.name, st, body)
			}

			proxy.Restore()
			deadline := time.Now().Add(30 * time.Second)
			for {
				st, _, _, _ := timedDo(t, http.MethodGet, s.Base+"/readyz", "")
				if st == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/readyz still %d 30s after the database came back", st)
				}
				time.Sleep(100 * time.Millisecond)
			}
			s.signupLogin(t, fmt.Sprintf("after%d@example.com", i), "password123")
			s.login(t, "before@example.com", "password123")
		})
	}
}

// Once the database has failed a query (cut off, or hanging past the query
// deadline), the breaker opens: the next requests that need the database
// answer 503 with Retry-After at once instead of each waiting the full
// deadline, /readyz answers 503 at once, and the first successful probe
// after the database comes back closes the breaker. The deadline here is
// long (8 s) so that "at once" and "waited for the deadline" cannot be
// mistaken for each other on a busy machine.
func TestDatabaseOutageFailsFast(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.Addr()
	const deadline = 8 * time.Second
	s := startServer(t, testEnv(u.String(), map[string]string{"SIGIL_DATABASE_TIMEOUT": deadline.String(), "SIGIL_SIGNING_ALG": "EdDSA", "SIGIL_LOG_LEVEL": "info"}))
	s.signupLogin(t, "before@example.com", "password123")
	login := `{"email":"before@example.com","password":"password123"}`

	for i, fault := range []struct {
		name  string
		apply func()
	}{
		{"cut", proxy.Cut},
		{"stall", proxy.Stall},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.apply()
			// The first request finds the database gone, within the deadline.
			st, _, body, took := timedDo(t, http.MethodPost, s.Base+"/auth/login", login)
			if st != 503 {
				t.Fatalf("first login during %s: %d %s", fault.name, st, body)
			}
			t.Logf("first login answered 503 after %s", took.Round(time.Millisecond))
			for j, c := range []struct{ method, path, body string }{
				{http.MethodPost, "/auth/login", login},
				{http.MethodPost, "/auth/signup", fmt.Sprintf(`{"email":"fast%d@example.com","password":"password123"}`, i)},
				{http.MethodGet, "/readyz", ""},
				{http.MethodPost, "/auth/login", login},
				{http.MethodGet, "/readyz", ""},
			} {
				st, h, body, took := timedDo(t, c.method, s.Base+c.path, c.body)
				if st != 503 || took >= deadline/2 {
					t.Fatalf("%s #%d during %s: %d after %s, want 503 well before the %s deadline\n%s", c.path, j, fault.name, st, took, deadline, body)
				}
				if c.path != "/readyz" && (h.Get("Retry-After") == "" || !strings.Contains(body, "unavailable")) {
					t.Fatalf("%s during %s: %v %s; want a problem with Retry-After", c.path, fault.name, h, body)
				}
				t.Logf("%s answered 503 after %s", c.path, took.Round(time.Millisecond))
			}
			if st, _, body, _ := timedDo(t, http.MethodGet, s.Base+"/metrics", ""); st != 200 || !strings.Contains(body, "sigil_database_breaker_open 1") {
				t.Fatalf("metrics during %s do not show the open breaker: %d", fault.name, st)
			}

			proxy.Restore()
			until := time.Now().Add(30 * time.Second)
			for {
				st, _, _, _ := timedDo(t, http.MethodGet, s.Base+"/readyz", "")
				if st == 200 {
					break
				}
				if time.Now().After(until) {
					t.Fatalf("/readyz still %d 30s after the database came back\n%s", st, s.stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			s.login(t, "before@example.com", "password123")
			if strings.Count(s.stderr.String(), "breaker closed") != i+1 {
				t.Fatalf("the log does not say the breaker closed:\n%s", s.stderr.String())
			}
		})
	}
}
