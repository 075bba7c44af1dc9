// This file is not from x/crypto: it keeps the working memory of a
// computation outside the Go heap where the system allows it.

package argon2

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Memory is the working memory of one Argon2id computation. A Memory may
// be reused for any number of computations, one at a time; it is cleared
// after each, so nothing derived from a password stays in it.
//
// On Linux the memory is mapped from the system directly, outside the Go
// heap, and left out of core dumps. The collector neither counts it nor
// paces itself by it: a server holding two 19 MiB buffers would otherwise
// have a heap target twice as large (GOGC) or, under a soft memory limit,
// collect back to back as soon as anything else (a flood of connections)
// needs a few MiB more (docs/benchmarks.md, "Login under overload").
// Free returns it to the system; a Memory that becomes unreachable
// without Free is returned by a cleanup.
type Memory struct {
	blocks  []block
	cleanup runtime.Cleanup
	mapped  bool
}

// mappedBytes is the memory mapped for Memory values and not yet
// returned, for tests.
var mappedBytes atomic.Int64

// grow makes m hold at least n blocks, replacing (and freeing) a smaller
// buffer.
func (m *Memory) grow(n uint32) {
	if uint32(cap(m.blocks)) >= n {
		return
	}
	m.Free()
	if b, ok := mapBlocks(int(n)); ok {
		m.blocks, m.mapped = b, true
		mappedBytes.Add(int64(n) * blockBytes)
		m.cleanup = runtime.AddCleanup(m, unmapCleanup, b)
		return
	}
	m.blocks = make([]block, n)
}

// Free gives m's memory back: to the system if it was mapped, to the
// collector otherwise. m stays usable; its next computation allocates
// again. Free must not be called while a computation uses m.
func (m *Memory) Free() {
	if m.mapped {
		m.cleanup.Stop()
		unmapCleanup(m.blocks)
	}
	m.blocks, m.mapped = nil, false
}

func unmapCleanup(b []block) {
	unmapBlocks(b)
	mappedBytes.Add(-int64(cap(b)) * blockBytes)
}

const blockBytes = int64(unsafe.Sizeof(block{}))
