// This file is not from x/crypto.

package argon2

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapBlocks maps n zeroed blocks of anonymous private memory, excluded
// from core dumps. ok is false when the system refuses; the caller then
// allocates from the heap.
func mapBlocks(n int) (b []block, ok bool) {
	mem, err := unix.Mmap(-1, 0, n*int(blockBytes), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, false
	}
	// Best effort: a kernel without MADV_DONTDUMP still maps the memory.
	_ = unix.Madvise(mem, unix.MADV_DONTDUMP)
	return unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(mem))), n), true
}

// unmapBlocks returns memory from mapBlocks to the system.
func unmapBlocks(b []block) {
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), int64(cap(b))*blockBytes)
	_ = unix.Munmap(mem)
}
