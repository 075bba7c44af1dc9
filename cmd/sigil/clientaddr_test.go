package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// loginVia posts a failing login with the given lines of X-Forwarded-For,
// each sent as a header line of its own, and returns the status.
func loginVia(t *testing.T, s *server, lines ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.Base+"/auth/login", strings.NewReader(`{"email":"nobody@example.com","password":"wrong password"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, l := range lines {
		req.Header.Add("X-Forwarded-For", l)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Behind proxies, the client address is the right-most address that is
// not a trusted proxy, across every line of SIGIL_CLIENT_IP_HEADER: a
// client writing its own first line (which a proxy appending a separate
// line leaves in place) cannot choose its bucket, and the addresses of an
// IPv6 /64 share one bucket. Audit events carry the address found.
func TestClientAddressIsTheRightMostUntrustedAcrossHeaderLines(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, testEnv(dbURL, map[string]string{
		"SIGIL_CLIENT_IP_HEADER":  "X-Forwarded-For",
		"SIGIL_TRUSTED_PROXIES":   "127.0.0.1/32, 10.0.0.0/8",
		"SIGIL_RATE_LIMIT":        "1/m", // a burst of 1
		"SIGIL_LOCKOUT_THRESHOLD": "0",
	}))

	// A client invents a fresh address in its own line each time; the
	// outer proxy's line names the real one, then the inner proxy's.
	var spoofed []int
	for i := 0; i < 5; i++ {
		spoofed = append(spoofed, loginVia(t, s, fmt.Sprintf("198.51.100.%d", i+1), "203.0.113.7, 10.0.0.5"))
	}
	if fmt.Sprint(spoofed) != "[401 429 429 429 429]" {
		t.Fatalf("answers to one client choosing its own first line: %v; want 401 then 429 (one bucket)", spoofed)
	}

	// Fresh addresses of one IPv6 /64 share a bucket.
	var v6 []int
	for i := 0; i < 5; i++ {
		v6 = append(v6, loginVia(t, s, fmt.Sprintf("2001:db8:1:2::%x", i+1)))
	}
	if fmt.Sprint(v6) != "[401 429 429 429 429]" {
		t.Fatalf("answers to five addresses of one /64: %v; want 401 then 429 (one bucket)", v6)
	}
	// Another /64 has its own.
	if st := loginVia(t, s, "2001:db8:1:3::1"); st != 401 {
		t.Fatalf("another /64: %d, want its own bucket (401)", st)
	}

	ev := auditEvents(t, dbURL, authority.EventQuery{Type: authority.EventLoginFailure})
	seen := map[string]bool{}
	for _, e := range ev {
		seen[e.IP] = true
	}
	if !seen["203.0.113.7"] || seen["10.0.0.5"] || seen["198.51.100.1"] || seen["127.0.0.1"] {
		t.Fatalf("audit addresses %v: want the right-most untrusted address 203.0.113.7 only", seen)
	}
}
