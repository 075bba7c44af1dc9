package main

import (
	"log/slog"
	"runtime"
)

// memoryLimit is the soft memory limit serve sets when GOMEMLIMIT is not
// given: room for every hashing slot's argon2id buffer plus one being
// collected and 8 MiB more, and never less than 64 MiB. Each hash
// allocates its whole memory cost afresh, so with Go's default GC pacing the
// heap would grow to about twice the hashing memory before a collection;
// the limit makes the collector run sooner instead (the buffers hold no
// pointers, so those collections are cheap). With the default cost on two
// cores it keeps a Sigil serving 1,000 connections of logins under 100 MB
// resident (docs/benchmarks.md).
func memoryLimit(argon2KiB uint32, slots int) int64 {
	return max(64<<20, 8<<20+int64(slots+1)*int64(argon2KiB)<<10)
}

// limitMemory applies memoryLimit to the process unless the operator set
// GOMEMLIMIT (which the Go runtime has already applied).
func limitMemory(e env, cfg Config, log *slog.Logger) {
	if e.setMemoryLimit == nil || e.getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := memoryLimit(cfg.Argon2.Memory, runtime.GOMAXPROCS(0))
	e.setMemoryLimit(limit)
	log.Debug("soft memory limit set", "bytes", limit)
}
