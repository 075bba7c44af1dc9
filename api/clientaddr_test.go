package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/keys"
)

// Requests from a private address with no client-address header set are
// probably coming through a proxy (every client then shares one bucket):
// Sigil warns once, not per request; from a public or loopback peer, or
// with the header set, it stays quiet.
func TestPrivatePeerWithoutHeaderWarnsOnce(t *testing.T) {
	cases := []struct {
		name, header string
		peers        []string
		warnings     int
	}{
		{"private peers, no header", "", []string{"10.1.2.3:1000", "10.1.2.3:1001", "192.168.0.9:5", "[fd00::7]:9"}, 1},
		{"public and loopback peers", "", []string{"203.0.113.9:1", "127.0.0.1:2", "[::1]:3"}, 0},
		{"private peer, header set", "X-Forwarded-For", []string{"10.1.2.3:1000", "10.1.2.3:1001"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := newTestServer(t, newMemStore(), keys.EdDSA, nil)
			var logs bytes.Buffer
			srv.log = slog.New(slog.NewTextHandler(&logs, nil))
			srv.cfg.ClientIPHeader = c.header
			h := srv.Handler()
			for _, p := range c.peers {
				r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
				r.RemoteAddr = p
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			if n := strings.Count(logs.String(), "requests come from a private address"); n != c.warnings {
				t.Fatalf("%d warnings, want %d:\n%s", n, c.warnings, logs.String())
			}
		})
	}
}
