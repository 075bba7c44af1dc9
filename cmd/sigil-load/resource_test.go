package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The resource scenario sends the load user's token to the resource
// server's /protected and counts 200 as ok.
func TestResourceScenarioSendsTheUsersToken(t *testing.T) {
	var wrong atomic.Int64
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != resourcePath || r.Header.Get("Authorization") != "Bearer the-token" {
			wrong.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"sub":"u"}`)
	}))
	defer rs.Close()
	l := &loader{accessToken: "the-token", resource: strings.TrimPrefix(rs.URL, "http://")}
	mk, err := scenarios["resource"].prepare(context.Background(), l, 2)
	if err != nil {
		t.Fatal(err)
	}
	res := run(context.Background(), "resource", 2, 100*time.Millisecond, 0, scenarios["resource"].want, mk)
	if res.OK == 0 || res.Errors != 0 || wrong.Load() != 0 {
		t.Fatalf("ok %d, errors %d (%s), refused by the server %d", res.OK, res.Errors, res.FirstErr, wrong.Load())
	}
}

// A resource server that refuses the token fails the set-up instead of
// reporting a run of errors; without -resource, or with one that is not
// on loopback, the scenario does not start.
func TestResourceScenarioSetUpFailures(t *testing.T) {
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer rs.Close()
	for _, c := range []struct{ resource, want string }{
		{strings.TrimPrefix(rs.URL, "http://"), "status 401"},
		{"", "needs -resource"},
		{"10.1.2.3:80", "not a loopback address"},
	} {
		l := &loader{accessToken: "t", resource: c.resource}
		_, err := scenarios["resource"].prepare(context.Background(), l, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resource %q: err %v, want %q", c.resource, err, c.want)
		}
	}
}

// The register scenario posts client metadata; 201 is ok and the 429s of
// Sigil's per-address limit are refused, not errors.
func TestRegisterScenarioCountsRefusals(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/oauth2/register" ||
			r.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"redirect_uris"`) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n.Add(1) > 3 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	tgt, err := resolveTarget(context.Background(), srv.URL, systemLookup)
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{base: tgt.base, client: tgt.client(2)}
	mk, err := scenarios["register"].prepare(context.Background(), l, 2)
	if err != nil {
		t.Fatal(err)
	}
	res := run(context.Background(), "register", 2, 100*time.Millisecond, 0, scenarios["register"].want, mk)
	if res.OK != 2 || res.Refused == 0 || res.Errors != 0 {
		t.Fatalf("ok %d (want the 2 left after the probe), refused %d, errors %d (%s)", res.OK, res.Refused, res.Errors, res.FirstErr)
	}
}

// With registration off (404) the scenario says how to turn it on.
func TestRegisterScenarioNeedsOpenRegistration(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	tgt, err := resolveTarget(context.Background(), srv.URL, systemLookup)
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{base: tgt.base, client: tgt.client(1)}
	if _, err := scenarios["register"].prepare(context.Background(), l, 1); err == nil || !strings.Contains(err.Error(), "SIGIL_REGISTRATION=open") {
		t.Fatalf("err %v", err)
	}
}
