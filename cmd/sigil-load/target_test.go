package main

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeLookup resolves names from a table, so the tests need no DNS.
func fakeLookup(table map[string][]string) lookupFunc {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		ss, ok := table[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

func TestTargetMustBeLoopback(t *testing.T) {
	lookup := fakeLookup(map[string][]string{
		"localhost":      {"127.0.0.1", "::1"},
		"loop.test":      {"127.3.2.1"},
		"mixed.test":     {"127.0.0.1", "192.0.2.10"},
		"elsewhere.test": {"203.0.113.5"},
		"v6.test":        {"2001:db8::1"},
	})
	for _, tc := range []struct {
		addr     string
		wantBase string // "" means refused
		wantDial string
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"127.255.0.9:1", "http://127.255.0.9:1", "127.255.0.9:1"},
		{"[::1]:8080", "http://[::1]:8080", "[::1]:8080"},
		{"[::ffff:127.0.0.1]:8080", "http://[::ffff:127.0.0.1]:8080", "127.0.0.1:8080"},
		{"localhost:8080", "http://localhost:8080", "127.0.0.1:8080"},
		{"loop.test:9", "http://loop.test:9", "127.3.2.1:9"},
		{"10.0.0.1:8080", "", ""},
		{"0.0.0.0:8080", "", ""},
		{"[::]:8080", "", ""},
		{"128.0.0.1:8080", "", ""},
		{"192.168.1.1:80", "", ""},
		{"[2001:db8::1]:80", "", ""},
		{"[fe80::1%lo]:80", "", ""},
		{"mixed.test:8080", "", ""},
		{"elsewhere.test:8080", "", ""},
		{"v6.test:8080", "", ""},
		{"unknown.test:8080", "", ""},
		{"https://127.0.0.1:8443", "", ""},
		{"127.0.0.1", "", ""},
		{"127.0.0.1:http", "", ""},
		{"http://user@127.0.0.1:80", "", ""},
		{"http://127.0.0.1:80/path", "", ""},
	} {
		got, err := resolveTarget(context.Background(), tc.addr, lookup)
		if tc.wantBase == "" {
			if err == nil {
				t.Errorf("%s: accepted (%+v), want refused", tc.addr, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		if got.base != tc.wantBase || got.dial.String() != tc.wantDial {
			t.Errorf("%s: base %s dial %s, want %s %s", tc.addr, got.base, got.dial, tc.wantBase, tc.wantDial)
		}
	}
}

func TestRefusalNamesTheAddress(t *testing.T) {
	_, err := resolveTarget(context.Background(), "mixed.test:80", fakeLookup(map[string][]string{"mixed.test": {"127.0.0.1", "192.0.2.10"}}))
	if err == nil || !strings.Contains(err.Error(), "192.0.2.10") || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("error %v should name the non-loopback address", err)
	}
}

// The DB-write baseline's Postgres must be on this machine too.
func TestDBURLMustBeLocal(t *testing.T) {
	lookup := fakeLookup(map[string][]string{"localhost": {"127.0.0.1"}, "db.example": {"192.0.2.7"}})
	for url, ok := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable": true,
		"postgres://postgres@localhost/test":                      true,
		"postgres:///test?host=/var/run/postgresql":               true,
		"postgres://postgres@db.example:5432/test":                false,
		"postgres://postgres@10.1.2.3/test":                       false,
	} {
		if err := checkLocalDB(context.Background(), url, lookup); (err == nil) != ok {
			t.Errorf("%s: err %v, want ok=%v", url, err, ok)
		}
	}
}
