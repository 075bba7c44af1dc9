package main

import (
	"log/slog"
	"runtime"
)

// memoryLimit is the soft memory limit serve sets when GOMEMLIMIT is not
// given: room for every hashing slot's argon2id buffer plus one more and
// 8 MiB, and never less than 64 MiB. The hashing slots keep and reuse
// their buffers (authority's hashMemory), so logins allocate little and
// the limit is seldom reached; it bounds what anything else (a burst of
// connections, an import, a hash of a stored password under another cost,
// which gets fresh memory) can add. With the default cost on two cores it
// keeps a Sigil serving 1,000 connections of logins under 100 MB
// resident (docs/benchmarks.md). On Linux the buffers are mapped outside
// the Go heap and do not count against the limit, which then leaves
// their share to everything else: under a flood of connections the
// collector is not driven to run back to back by memory the hashes must
// hold anyway. Before the buffers were reused, each hash
// allocated its memory afresh and the runtime, held under this limit,
// returned freed memory to the system so eagerly that each hash faulted
// most of its 19 MiB back in: about a fifth of login throughput.
func memoryLimit(argon2KiB uint32, slots int) int64 {
	return max(64<<20, 8<<20+int64(slots+1)*int64(argon2KiB)<<10)
}

// gcPercent is the GOGC serve sets when the operator did not: the heap
// may grow to three times what is live between collections rather than
// twice. Sigil's live heap is a few MiB, so this costs a few MiB, and the
// soft memory limit still bounds the total; it halves how often the
// collector runs on the busiest paths, where it was the largest cost
// Sigil added to a bare HTTP exchange (JWKS at 0.84-0.85 of a bare
// handler with GOGC=100, 0.90 with 200: docs/benchmarks.md).
const gcPercent = 200

// limitMemory applies memoryLimit and gcPercent to the process unless
// the operator set GOMEMLIMIT or GOGC (which the Go runtime has already
// applied).
func limitMemory(e env, cfg Config, log *slog.Logger) {
	if e.setGCPercent != nil && e.getenv("GOGC") == "" {
		e.setGCPercent(gcPercent)
	}
	if e.setMemoryLimit == nil || e.getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := memoryLimit(cfg.Argon2.Memory, runtime.GOMAXPROCS(0))
	e.setMemoryLimit(limit)
	log.Debug("soft memory limit set", "bytes", limit)
}
