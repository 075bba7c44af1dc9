package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/sigil-auth/sigil/authority"
)

// serve sets a soft memory limit sized to the hashing slots, unless the
// operator set GOMEMLIMIT or the command runs in-process.
func TestServeMemoryLimit(t *testing.T) {
	cfg := Config{Argon2: authority.DefaultArgon2}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name    string
		gomem   string
		process bool
		want    bool
	}{
		{"process without GOMEMLIMIT", "", true, true},
		{"operator set GOMEMLIMIT", "200MiB", true, false},
		{"in-process", "", false, false},
	} {
		var got int64 = -1
		e := env{getenv: func(k string) string {
			if k == "GOMEMLIMIT" {
				return tc.gomem
			}
			return ""
		}}
		if tc.process {
			e.setMemoryLimit = func(n int64) int64 { got = n; return 0 }
		}
		limitMemory(e, cfg, log)
		if (got != -1) != tc.want {
			t.Errorf("%s: limit set %v, want %v", tc.name, got != -1, tc.want)
		}
	}
	if got, want := memoryLimit(19456, 2), int64(24<<20+3*19456<<10); got != want {
		t.Fatalf("memoryLimit = %d, want %d", got, want)
	}
}
