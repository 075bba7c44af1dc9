package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The runner counts every answer the server gave by status, sorts them
// into ok, refused (429/503) and errors, and keeps latencies of the ok ones.
func TestRunCountsAnswers(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := served.Add(1); {
		case n%10 == 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case n%10 == 5:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			io.WriteString(w, "{}")
		}
	}))
	defer srv.Close()
	tgt, err := resolveTarget(context.Background(), srv.URL, systemLookup)
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{base: tgt.base, client: tgt.client(4)}
	res := run(context.Background(), "jwks", 4, 200*time.Millisecond, 0, http.StatusOK, scenarios["jwks"].prepareStatic(l))
	total := 0
	for _, n := range res.Statuses {
		total += n
	}
	if total == 0 || res.OK+res.Refused+res.Errors != total {
		t.Fatalf("ok %d + refused %d + errors %d != answers %d", res.OK, res.Refused, res.Errors, total)
	}
	if int64(total) > served.Load() {
		t.Fatalf("counted %d answers, server served %d", total, served.Load())
	}
	if res.Statuses[200] != res.OK || res.Statuses[503] != res.Refused || res.Statuses[500] != res.Errors {
		t.Fatalf("statuses %v vs ok %d refused %d errors %d", res.Statuses, res.OK, res.Refused, res.Errors)
	}
	if res.Errors == 0 || res.FirstErr == "" {
		t.Fatalf("500 answers not reported as errors: %+v", res)
	}
	if p50, p99 := res.Percentile(0.5), res.Percentile(0.99); p50 <= 0 || p99 < p50 {
		t.Fatalf("p50 %s p99 %s", p50, p99)
	}
	if res.Rate() <= 0 {
		t.Fatal("no rate")
	}
}

// A refused request makes the worker pause before its next one.
func TestRunPausesAfterRefusal(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	tgt, _ := resolveTarget(context.Background(), srv.URL, systemLookup)
	l := &loader{base: tgt.base, client: tgt.client(2)}
	res := run(context.Background(), "jwks", 2, time.Second, time.Hour, http.StatusOK, scenarios["jwks"].prepareStatic(l))
	if res.Refused != 2 || served.Load() != 2 {
		t.Fatalf("refused %d, served %d: each of the 2 workers should have sent one request and paused", res.Refused, served.Load())
	}
}

func TestParseMemory(t *testing.T) {
	m, err := parseMemory(strings.NewReader("Name:\tsigil\nVmHWM:\t   98304 kB\nVmRSS:\t   51200 kB\nThreads:\t7\n"))
	if err != nil || m.hwmMB != 96 || m.rssMB != 50 {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := parseMemory(strings.NewReader("Name:\tsigil\n")); err == nil {
		t.Fatal("missing fields accepted")
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"},
		{"-duration", "2h"},
		{"-c", "0"},
		{"-c", "4,x"},
		{"-scenario", "nope"},
		{"-client-id", "x"},
		{"-admin-email", "a@example.com"},
		{"-refused-pause", "-1s"},
		{"-argon2-threads", "0"},
		{"-peer", "-scenario", "client_credentials"},
		{"-peer", "-client-id", "a", "-client-secret", "b", "-scenario", "login"},
		{"-peer", "-client-id", "a", "-client-secret", "b", "-scenario", "client_credentials", "-baselines"},
		{"-peer", "-client-id", "a", "-client-secret", "b", "-scenario", "client_credentials", "-spawn", "bin/sigil"},
		{"extra"},
	} {
		if _, _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	o, _, err := parseOptions([]string{"-c", "8,16,32", "-scenario", "login,me"}, io.Discard)
	if err != nil || len(o.conc) != 3 || len(o.scenarios) != 2 {
		t.Fatalf("%+v %v", o, err)
	}
}

// The load generator stops with one line before sending anything when the
// target is not a loopback address.
func TestRunMainRefusesRemoteTarget(t *testing.T) {
	var out strings.Builder
	err := runMain(context.Background(), []string{"-addr", "192.0.2.1:80", "-duration", "1s"}, strings.NewReader(""), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("got %v", err)
	}
}

// -bare-serve serves exactly the bytes it was given and stops when its
// input closes.
func TestBareServeServesTheGivenBytes(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveBare(inR, outW) }()
	body := `{"keys":[{"kty":"OKP","kid":"k1"}]}`
	go io.WriteString(inW, "35\n"+body)
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	m := listenRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in %q", line)
	}
	resp, err := http.Get(m[1] + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != body || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("served %q (%s)", got, resp.Header.Get("Content-Type"))
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// -peer loads another server's client_credentials grant: no sign-up, the
// client authenticates with client_secret_basic, and the report names the
// alg of the JWT access token it got.
func TestPeerLoadsClientCredentialsOnly(t *testing.T) {
	var tokens, other atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.Path != "/oauth2/token" || !ok || id != "peer-client" || secret != "s3cret" ||
			r.FormValue("grant_type") != "client_credentials" {
			other.Add(1)
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		// header {"alg":"RS256","typ":"at+jwt"}
		io.WriteString(w, `{"access_token":"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln","token_type":"Bearer","expires_in":900}`)
	}))
	defer srv.Close()
	var out strings.Builder
	err := runMain(context.Background(), []string{"-peer", "-addr", srv.URL, "-client-id", "peer-client", "-client-secret", "s3cret",
		"-scenario", "client_credentials", "-c", "2", "-duration", "300ms"}, strings.NewReader(""), &out, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if other.Load() != 0 || tokens.Load() < 3 {
		t.Fatalf("%d token requests, %d other requests\n%s", tokens.Load(), other.Load(), out.String())
	}
	if !strings.Contains(out.String(), "signing alg RS256") || !strings.Contains(out.String(), "client_credentials") {
		t.Fatalf("report:\n%s", out.String())
	}
}

// The overload curve takes multipliers of one -c for the login scenario.
func TestOverloadOptions(t *testing.T) {
	o, _, err := parseOptions([]string{"-scenario", "login", "-c", "16", "-overload", "4,16,60"}, io.Discard)
	if err != nil || len(o.overload) != 3 || o.overload[2] != 60 {
		t.Fatalf("good options: %+v %v", o.overload, err)
	}
	for _, args := range [][]string{
		{"-scenario", "login", "-c", "16", "-overload", "0.5"},
		{"-scenario", "login", "-c", "16", "-overload", "x"},
		{"-scenario", "jwks", "-c", "16", "-overload", "4"},
		{"-scenario", "login", "-c", "8,16", "-overload", "4"},
		{"-scenario", "login", "-c", "16", "-overload", "4", "-baselines"},
		{"-scenario", "login", "-c", "1000", "-overload", "60"},
	} {
		if _, _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// The CPU time of a process is utime + stime of /proc/PID/stat, whose
// command name may hold spaces and parentheses.
func TestParseCPU(t *testing.T) {
	stat := "4242 (sigil (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
	got, err := parseCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseCPU = %s, %v; want 3s", got, err)
	}
	if _, err := parseCPU("garbage"); err == nil {
		t.Fatal("garbage accepted")
	}
}
