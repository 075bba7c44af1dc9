package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/mfa"
)

func postLogin(t *testing.T, base, email string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(base+"/auth/login", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// When the only hashing slot is held by a login, a second login over HTTP
// gets 503 problem+json with Retry-After at once, and logins succeed again
// once the slot is free.
func TestLoginOverloadAnswers503WithRetryAfter(t *testing.T) {
	st := newMemStore()
	srv, _ := newTestServer(t, st, keys.EdDSA, func(c *authority.Config) { c.MaxConcurrentHashes, c.MaxHashQueue = 1, -1 })
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/auth/signup", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery","name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d", resp.StatusCode)
	}

	entered, release := st.holdLookups()
	defer release()
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/auth/login", "application/json",
			strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery"}`))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-entered

	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		resp, body := postLogin(t, ts.URL, email)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("login %s while busy: %d %s", email, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type %q", ct)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		var p Problem
		if err := json.Unmarshal(body, &p); err != nil || p.Type != problemBase+"overloaded" || p.Status != 503 {
			t.Errorf("problem %s (%v)", body, err)
		}
	}

	release()
	if st := <-first; st != http.StatusOK {
		t.Fatalf("admitted login: %d", st)
	}
	if resp, body := postLogin(t, ts.URL, "ada@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after release: %d %s", resp.StatusCode, body)
	}
}

// A login that arrives while every hashing slot and queue place is taken
// is refused at admission, before its body is decoded or an account is
// read: the 503 is the fixed overloaded
// problem with Retry-After, held for the queue wait before it is written
// (so a client retrying at once cannot turn refusals into a CPU flood),
// counted in sigil_overload_refusals_total, and logged as one sampled
// warning rather than one access-log line per refusal.
func TestLoginRefusedAtAdmissionBeforeDecoding(t *testing.T) {
	const hold = 200 * time.Millisecond
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, srv, ts, release, first := busyServer(t, hold, log)
	defer ts.Close()
	defer release()
	lookups := st.lookups()

	// A login whose body is not even JSON: refused before it is decoded
	// (a decoded one would get 400).
	start := time.Now()
	resp, err := http.Post(ts.URL+"/auth/login", "application/json", strings.NewReader(`{"email":`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if waited := time.Since(start); waited < hold {
		t.Errorf("refusal written after %s, want it held for the queue wait (%s)", waited, hold)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("refusal: %d Retry-After %q Content-Type %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Type != problemBase+"overloaded" || p.Status != 503 {
		t.Errorf("problem %s (%v)", body, err)
	}

	// Two more refusals, whole requests this time; a signup too.
	for range 2 {
		if resp, body := postLogin(t, ts.URL, "nobody@example.com"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("second refusal: %d %s", resp.StatusCode, body)
		}
	}
	if resp, body := postSignup(t, ts.URL, "bob@example.com"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("signup while full: %d %s", resp.StatusCode, body)
	}
	if n := st.lookups(); n != lookups {
		t.Errorf("refused requests read accounts: %d lookups, want %d", n, lookups)
	}
	if got := counterValue(t, srv, "sigil_overload_refusals_total"); got != 4 {
		t.Errorf("sigil_overload_refusals_total = %v, want 4", got)
	}
	out := logs.String()
	if n := strings.Count(out, "password-hashing capacity full"); n != 1 {
		t.Errorf("%d sampled refusal lines, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "status=503") {
		t.Errorf("refusals have info access-log lines:\n%s", out)
	}

	release()
	if st := <-first; st != http.StatusOK {
		t.Fatalf("admitted login: %d", st)
	}
	// The places are given back: logins are admitted again.
	if resp, body := postLogin(t, ts.URL, "ada@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after release: %d %s", resp.StatusCode, body)
	}
}

// busyServer serves a Sigil with one hashing slot, no queue and the given
// queue wait, whose one user's login holds the slot (and the only
// admission place) inside its account lookup until release is called;
// first receives that login's status.
func busyServer(t *testing.T, hold time.Duration, log *slog.Logger) (st *memStore, srv *Server, ts *httptest.Server, release func(), first chan int) {
	t.Helper()
	return busyServerWith(t, hold, log, nil)
}

// busyServerWith is busyServer calling mount (when not nil) on the
// server before it serves.
func busyServerWith(t *testing.T, hold time.Duration, log *slog.Logger, mount func(*Server)) (st *memStore, srv *Server, ts *httptest.Server, release func(), first chan int) {
	t.Helper()
	st = newMemStore()
	ring := keystest.Ring(t, keys.EdDSA, time.Now())
	auth, err := authority.New(authority.Config{
		Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour,
		Argon2:              authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		MaxConcurrentHashes: 1, MaxHashQueue: -1, HashQueueWait: hold,
	}, st, ring, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	d := Services{Auth: auth, Factors: mfa.New(auth, st, mfa.Config{}), Accounts: account.New(auth, st),
		Keys: keys.NewManager(nil, nil, ring, keys.Policy{Alg: keys.EdDSA}, nil, nil)}
	srv = New(Config{Issuer: "http://sigil.test", JWKSMaxAge: time.Minute}, d, st, nil, log)
	if mount != nil {
		mount(srv)
	}
	ts = httptest.NewServer(srv.Handler())
	if resp, body := postSignup(t, ts.URL, "ada@example.com"); resp.StatusCode != http.StatusCreated {
		ts.Close()
		t.Fatalf("signup: %d %s", resp.StatusCode, body)
	}
	entered, release := st.holdLookups()
	first = make(chan int, 1)
	go func() {
		resp, _ := postLogin(t, ts.URL, "ada@example.com")
		first <- resp.StatusCode
	}()
	<-entered // the only admission place and hashing slot are taken
	return st, srv, ts, release, first
}

func postSignup(t *testing.T, base, email string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(base+"/auth/signup", "application/json",
		strings.NewReader(`{"email":"`+email+`","password":"correct horse battery","name":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// counterValue reads one counter from the server's /metrics.
func counterValue(t *testing.T, srv *Server, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
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

// A refusal held for the queue wait does not hold a goroutine of the
// server's while it waits: two hundred refused connections leave the
// goroutine count where it was (each would otherwise park one, with its
// buffers), and each still gets the whole overloaded answer, with
// Connection: close, once the wait is over, and then the end of the
// connection.
func TestHeldRefusalsKeepNoGoroutinePerConnection(t *testing.T) {
	const hold = 700 * time.Millisecond
	const conns = 200
	_, srv, ts, release, first := busyServer(t, hold, nil)
	defer ts.Close()
	defer release()
	base := runtime.NumGoroutine()

	// Raw connections: no client goroutines to count.
	req := "POST /auth/login HTTP/1.1\r\nHost: sigil.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	var cs []net.Conn
	// Each refusal is held from its own request's arrival, which is after
	// its write: the wait is measured from there, not from the last
	// write, which on a busy machine comes hundreds of milliseconds later.
	var written []time.Time
	for range conns {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		written = append(written, time.Now())
	}
	start := time.Now()
	for counterValue(t, srv, "sigil_overload_refusals_total") < conns {
		if time.Since(start) > hold/2 {
			t.Fatalf("%v of %d refusals counted", counterValue(t, srv, "sigil_overload_refusals_total"), conns)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if grew := runtime.NumGoroutine() - base; grew > conns/10 {
		t.Errorf("%d goroutines more while %d refusals are held", grew, conns)
	}

	for i, c := range cs {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
			resp.Header.Get("Content-Type") != "application/problem+json" || !resp.Close ||
			resp.Header.Get("X-Request-Id") == "" || !bytes.Equal(body, overloadedBody) {
			t.Fatalf("connection %d: %d %v %s", i, resp.StatusCode, resp.Header, body)
		}
		if waited := time.Since(written[i]); waited < hold/2 {
			t.Fatalf("refusal read after %s, want it held for %s", waited, hold)
		}
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("connection %d not closed after the refusal: %d %v", i, n, err)
		}
	}
	release()
	if st := <-first; st != http.StatusOK {
		t.Fatalf("admitted login: %d", st)
	}
}
