package authority

import (
	"time"

	"github.com/sigil-auth/sigil/authority/internal/argon2"
)

// hashMemory keeps the argon2id working memory of the hashing slots, one
// per slot, so that a hash reuses the memory of an earlier one instead of
// allocating its whole memory cost (19 MiB by default) afresh. Fresh
// memory costs more than the allocation: under the soft memory limit
// serve sets, the Go runtime collects and returns freed memory to the
// system so eagerly that most of each hash's pages were faulted back in
// and zeroed by the kernel, about a fifth of a hash's time
// (docs/benchmarks.md). At most one buffer per slot is kept, the same
// memory the hashes in flight need anyway, and they are let go after
// 30 s without a hash; a reused buffer is cleared after each hash, so
// nothing derived from a password stays in it. On Linux the buffers are
// mapped outside the Go heap (argon2.Memory), so the collector is not
// paced by them, and are unmapped when let go.
type hashMemory struct {
	free chan *argon2.Memory
	// idle empties free after hashMemoryIdle without a hash, so an idle
	// server gives the memory back to the system.
	idle *time.Timer
}

// hashMemoryIdle is how long kept buffers outlive the last hash.
const hashMemoryIdle = 30 * time.Second

func newHashMemory(slots int) *hashMemory {
	h := &hashMemory{free: make(chan *argon2.Memory, slots)}
	h.idle = time.AfterFunc(hashMemoryIdle, h.drain)
	return h
}

// get returns a kept buffer, or a new empty one (IDKey then allocates its
// memory).
func (h *hashMemory) get() *argon2.Memory {
	select {
	case m := <-h.free:
		return m
	default:
		return new(argon2.Memory)
	}
}

// put keeps m for the next hash unless as many are kept as there are
// slots, in which case its memory is given back.
func (h *hashMemory) put(m *argon2.Memory) {
	select {
	case h.free <- m:
	default:
		m.Free()
	}
	h.idle.Reset(hashMemoryIdle)
}

// drain gives back the memory of every kept buffer.
func (h *hashMemory) drain() {
	for {
		select {
		case m := <-h.free:
			m.Free()
		default:
			return
		}
	}
}

// verifyHash is CheckPassword in reused memory.
func (s *Service) verifyHash(stored, password string) (ok, rehash bool, err error) {
	m := s.hashMem.get()
	defer s.hashMem.put(m)
	return checkPassword(m, stored, password, s.cfg.Argon2)
}

// hashNew is Argon2Params.Hash in reused memory.
func (s *Service) hashNew(password string) (string, error) {
	m := s.hashMem.get()
	defer s.hashMem.put(m)
	return s.cfg.Argon2.hash(m, password)
}
