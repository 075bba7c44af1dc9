package argon2

import (
	"runtime"
	"testing"
	"time"
)

// On Linux a Memory's blocks are mapped outside the Go heap: hashing at
// Sigil's default cost (19 MiB) leaves the heap where it was, the mapping
// is counted until Free, and Free returns it.
func TestMemoryIsOutsideTheHeap(t *testing.T) {
	const kib = 19456
	before := settle(t)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)

	m := new(Memory)
	IDKey(m, []byte("password"), []byte("0123456789abcdef"), 2, kib, 1, 32)
	runtime.ReadMemStats(&ms1)
	if got, want := mappedBytes.Load()-before, int64(Blocks(kib, 1))*blockBytes; got != want {
		t.Fatalf("mapped %d bytes for one Memory, want %d", got, want)
	}
	if grew := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc); grew > 4<<20 {
		t.Errorf("heap grew by %d bytes during a 19 MiB hash; the blocks should be outside it", grew)
	}
	for i, b := range m.blocks {
		if b != (block{}) {
			t.Fatalf("block %d not cleared after the computation", i)
		}
	}

	// A larger cost replaces the mapping; Free returns it.
	IDKey(m, []byte("password"), []byte("0123456789abcdef"), 1, 2*kib, 1, 32)
	if got, want := mappedBytes.Load()-before, int64(Blocks(2*kib, 1))*blockBytes; got != want {
		t.Fatalf("mapped %d bytes after growing, want %d", got, want)
	}
	m.Free()
	if got := mappedBytes.Load() - before; got != 0 {
		t.Fatalf("%d bytes still mapped after Free", got)
	}
	// A computation without a Memory maps its own and gives it back.
	runtime.ReadMemStats(&ms0)
	IDKey(nil, []byte("password"), []byte("0123456789abcdef"), 1, kib, 1, 32)
	runtime.ReadMemStats(&ms1)
	if got := mappedBytes.Load() - before; got != 0 {
		t.Fatalf("%d bytes still mapped after a computation without a Memory", got)
	}
	if grew := ms1.TotalAlloc - ms0.TotalAlloc; grew > 4<<20 {
		t.Errorf("a computation without a Memory allocated %d bytes of heap", grew)
	}
	// And the Memory is usable again.
	k1 := IDKey(m, []byte("password"), []byte("0123456789abcdef"), 1, 64, 1, 32)
	k2 := IDKey(nil, []byte("password"), []byte("0123456789abcdef"), 1, 64, 1, 32)
	if string(k1) != string(k2) {
		t.Fatal("a freed Memory computes another key")
	}
	m.Free()
}

// A Memory dropped without Free is unmapped once it is collected.
func TestDroppedMemoryIsUnmapped(t *testing.T) {
	before := settle(t)
	func() {
		m := new(Memory)
		IDKey(m, []byte("password"), []byte("0123456789abcdef"), 1, 1024, 1, 32)
	}()
	if mappedBytes.Load() == before {
		t.Fatal("nothing was mapped")
	}
	if settle(t) != before {
		t.Fatal("the dropped Memory is still mapped")
	}
}

// settle collects until the Memory values earlier tests dropped have been
// unmapped by their cleanups (which run on their own goroutine), and
// returns what is still mapped: nothing, as no test of this package runs
// in parallel with another.
func settle(t *testing.T) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		n := mappedBytes.Load()
		if n == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes still mapped 10 s after every Memory was dropped", n)
		}
	}
}
