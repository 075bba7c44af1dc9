package argon2

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"syscall"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// The same key as x/crypto's IDKey, byte for byte, for many random
// passwords, salts and costs, with one Memory reused across all of them
// (in a random order of sizes, so leftovers of a bigger computation would
// show) and without one.
func TestSameAsXCrypto(t *testing.T) {
	var m Memory
	for i := range 300 {
		password := make([]byte, mrand.IntN(64))
		salt := make([]byte, 8+mrand.IntN(24))
		rand.Read(password)
		rand.Read(salt)
		time := uint32(1 + mrand.IntN(3))
		threads := uint8(1 + mrand.IntN(4))
		memory := uint32(8*int(threads) + mrand.IntN(512))
		keyLen := uint32(16 + mrand.IntN(48))
		want := xargon2.IDKey(password, salt, time, memory, threads, keyLen)
		mem := &m
		if i%5 == 0 {
			mem = nil
		}
		if got := IDKey(mem, password, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("case %d (t=%d m=%d p=%d len=%d): %x, x/crypto %x", i, time, memory, threads, keyLen, got, want)
		}
	}
}

// RFC 9106's Argon2id test vector has a secret and associated data, which
// Sigil does not use; this is the same computation's known answer without
// them, as x/crypto computes it, at Sigil's default cost.
func TestDefaultCostKnownAnswer(t *testing.T) {
	var m Memory
	salt := []byte("0123456789abcdef")
	want := xargon2.IDKey([]byte("correct horse battery"), salt, 2, 19456, 1, 32)
	for range 2 {
		got := IDKey(&m, []byte("correct horse battery"), salt, 2, 19456, 1, 32)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s, want %s", hex.EncodeToString(got), hex.EncodeToString(want))
		}
	}
	for i, b := range m.blocks {
		if b != (block{}) {
			t.Fatalf("block %d not cleared after use", i)
		}
	}
}

func FuzzSameAsXCrypto(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(1), uint16(64), uint8(1), uint8(32))
	f.Add([]byte(""), []byte("0123456789abcdef"), uint8(3), uint16(300), uint8(4), uint8(16))
	var m Memory
	f.Fuzz(func(t *testing.T, password, salt []byte, time uint8, memory uint16, threads uint8, keyLen uint8) {
		tm := uint32(time%4) + 1
		th := threads%4 + 1
		mem := uint32(memory % 1024)
		kl := uint32(keyLen%64) + 4
		want := xargon2.IDKey(password, salt, tm, mem, th, kl)
		if got := IDKey(&m, password, salt, tm, mem, th, kl); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d len=%d: %x, x/crypto %x", tm, mem, th, kl, got, want)
		}
	})
}

// BenchmarkIDKey compares one hash at Sigil's default cost with x/crypto's
// (a fresh 19 MiB allocation each time) and with a reused Memory.
func BenchmarkIDKey(b *testing.B) {
	salt := []byte("0123456789abcdef")
	b.Run("x-crypto", func(b *testing.B) {
		for b.Loop() {
			xargon2.IDKey([]byte("correct horse battery"), salt, 2, 19456, 1, 32)
		}
	})
	b.Run("reused-memory", func(b *testing.B) {
		var m Memory
		for b.Loop() {
			IDKey(&m, []byte("correct horse battery"), salt, 2, 19456, 1, 32)
		}
	})
}

// BenchmarkIDKeyParallel hashes at Sigil's default cost on every core at
// once, as the hashing slots do, and reports the page faults per hash:
// run it under serve's soft memory limit (GOMEMLIMIT=65MiB on two cores)
// to see what fresh memory costs there.
func BenchmarkIDKeyParallel(b *testing.B) {
	salt := []byte("0123456789abcdef")
	for _, reuse := range []bool{false, true} {
		name := "x-crypto"
		if reuse {
			name = "reused-memory"
		}
		b.Run(name, func(b *testing.B) {
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.RunParallel(func(pb *testing.PB) {
				var m Memory
				for pb.Next() {
					if reuse {
						IDKey(&m, []byte("correct horse battery"), salt, 2, 19456, 1, 32)
					} else {
						xargon2.IDKey([]byte("correct horse battery"), salt, 2, 19456, 1, 32)
					}
				}
			})
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			b.ReportMetric(float64(ru1.Minflt-ru0.Minflt)/float64(b.N), "faults/op")
		})
	}
}
