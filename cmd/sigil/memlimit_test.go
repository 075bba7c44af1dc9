package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/sigil-auth/sigil/authority"
)

// serve sets a soft memory limit sized to the hashing slots and GOGC,
// each unless the operator set it or the command runs in-process.
func TestServeMemoryLimit(t *testing.T) {
	cfg := Config{Argon2: authority.DefaultArgon2}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name    string
		gomem   string
		process bool
		want    bool
		gogc    string
		wantGC  bool
	}{
		{"process without GOMEMLIMIT or GOGC", "", true, true, "", true},
		{"operator set GOMEMLIMIT", "200MiB", true, false, "", true},
		{"operator set GOGC", "", true, true, "100", false},
		{"in-process", "", false, false, "", false},
	} {
		var got int64 = -1
		gc := -1
		e := env{getenv: func(k string) string {
			switch k {
			case "GOMEMLIMIT":
				return tc.gomem
			case "GOGC":
				return tc.gogc
			}
			return ""
		}}
		if tc.process {
			e.setMemoryLimit = func(n int64) int64 { got = n; return 0 }
			e.setGCPercent = func(n int) int { gc = n; return 100 }
		}
		limitMemory(e, cfg, log)
		if (got != -1) != tc.want {
			t.Errorf("%s: limit set %v, want %v", tc.name, got != -1, tc.want)
		}
		if (gc == gcPercent) != tc.wantGC || (gc != -1 && gc != gcPercent) {
			t.Errorf("%s: GOGC set to %d, want set %v", tc.name, gc, tc.wantGC)
		}
	}
	for _, tc := range []struct {
		kib   uint32
		slots int
		want  int64
	}{
		{19456, 2, 8<<20 + 3*19456<<10},
		{19456, 16, 8<<20 + 17*19456<<10},
		{1024, 2, 64 << 20},
	} {
		if got := memoryLimit(tc.kib, tc.slots); got != tc.want {
			t.Errorf("memoryLimit(%d, %d) = %d, want %d", tc.kib, tc.slots, got, tc.want)
		}
	}
}
