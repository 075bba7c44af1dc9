package cimd

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// Only public unicast addresses may be fetched from.
func TestPublicAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fd00::1": false, "100.64.0.1": false, "0.0.0.0": false,
		"::": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "198.18.0.1": false,
		"192.0.2.1": false, "64:ff9b::a00:1": false, "255.255.255.255": false,
	} {
		if got := publicAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddress(%s) = %v, want %v", addr, got, want)
		}
	}
}

// The fetcher refuses to connect to a loopback address (the check is on
// the address dialled, after DNS), unless tests allow it; it follows no
// redirect.
func TestFetchRefusesLoopbackAndRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/doc", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()

	strict := &Service{client: newHTTPClient(false)}
	if _, _, err := strict.fetch(ctx, srv.URL+"/doc"); !errors.Is(err, errForbiddenAddress) {
		t.Errorf("loopback fetched without the test switch: %v", err)
	}
	local := &Service{client: newHTTPClient(true)}
	if _, _, err := local.fetch(ctx, srv.URL+"/doc"); err != nil {
		t.Errorf("loopback with the test switch: %v", err)
	}
	if _, _, err := local.fetch(ctx, srv.URL+"/moved"); err == nil {
		t.Error("a redirect was followed")
	}
}

// A document is cached by its max-age within [minCache, maxCache].
func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": defaultCache, "max-age=600": 10 * time.Minute, "public, max-age=5": minCache,
		"max-age=999999": maxCache, "no-store": minCache, "max-age=-3": defaultCache,
	} {
		h := http.Header{}
		if cc != "" {
			h.Set("Cache-Control", cc)
		}
		if got := maxAge(h); got != want {
			t.Errorf("Cache-Control %q: %s, want %s", cc, got, want)
		}
	}
}
