package authority

import (
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority/internal/argon2"
)

// The slots' buffers are kept between hashes (at most one per slot) and
// let go once no hash has run for a while.
func TestHashMemoryKeptThenLetGo(t *testing.T) {
	h := newHashMemory(2)
	a, b, c := h.get(), h.get(), h.get()
	for _, m := range []*argon2.Memory{a, b, c} {
		h.put(m)
	}
	if n := len(h.free); n != 2 {
		t.Fatalf("%d buffers kept, want one per slot (2)", n)
	}
	if got := h.get(); got != a {
		t.Fatal("a kept buffer was not reused")
	}
	h.put(a)
	h.idle.Reset(time.Millisecond) // as if hashMemoryIdle had passed
	deadline := time.Now().Add(10 * time.Second)
	for len(h.free) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("kept buffers not let go after the idle time")
		}
		time.Sleep(time.Millisecond)
	}
}
