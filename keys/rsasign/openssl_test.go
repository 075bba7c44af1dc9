//go:build openssl && cgo

package rsasign

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// testKeys generates, once per process, the keys the differential tests
// sign with: several of each size Sigil can meet.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var out []*rsa.PrivateKey
	for _, spec := range []struct{ bits, n int }{{2048, 6}, {3072, 2}, {4096, 2}} {
		for range spec.n {
			k, err := rsa.GenerateKey(rand.Reader, spec.bits)
			if err != nil {
				panic(err)
			}
			out = append(out, k)
		}
	}
	return out
})

// pair loads priv into both backends.
func pair(t testing.TB, priv *rsa.PrivateKey) (ossl, gok *Key) {
	t.Helper()
	ossl, err := NewOpenSSL(priv)
	if err != nil {
		t.Fatal(err)
	}
	gok, err = NewGo(priv)
	if err != nil {
		t.Fatal(err)
	}
	return ossl, gok
}

// sameSignature signs msg through both backends, requires byte-identical
// output and verifies it with crypto/rsa.
func sameSignature(t testing.TB, ossl, gok *Key, msg []byte) {
	t.Helper()
	a, err := ossl.SignSHA256(msg)
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	b, err := gok.SignSHA256(msg)
	if err != nil {
		t.Fatalf("crypto/rsa: %v", err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("%d-bit key, %d-byte message: OpenSSL and crypto/rsa signatures differ", ossl.pub.N.BitLen(), len(msg))
	}
	sum := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(ossl.Public(), crypto.SHA256, sum[:], a); err != nil {
		t.Fatalf("crypto/rsa rejects the OpenSSL signature: %v", err)
	}
}

func TestBackendIsOpenSSL(t *testing.T) {
	if Backend() != BackendOpenSSL {
		t.Fatalf("Backend() = %q in an openssl build", Backend())
	}
	if v := BackendVersion(); len(v) < 9 || v[:9] != "OpenSSL 3" {
		t.Fatalf("BackendVersion() = %q, want OpenSSL 3.x", v)
	}
}

// TestOpenSSLMatchesCryptoRSA signs random messages of random lengths
// (the empty one included) with generated 2048-, 3072- and 4096-bit keys
// through both backends.
func TestOpenSSLMatchesCryptoRSA(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for _, priv := range testKeys() {
		t.Run(fmt.Sprintf("%d", priv.N.BitLen()), func(t *testing.T) {
			ossl, gok := pair(t, priv)
			sameSignature(t, ossl, gok, nil)
			for range 100 {
				msg := make([]byte, rng.IntN(4096))
				_, _ = rand.Read(msg)
				sameSignature(t, ossl, gok, msg)
			}
		})
	}
}

// TestOpenSSLConcurrentSigning signs from many goroutines at once with
// one key (run under -race): every signature is the one crypto/rsa gives.
func TestOpenSSLConcurrentSigning(t *testing.T) {
	priv := testKeys()[0]
	ossl, gok := pair(t, priv)
	msgs := make([][]byte, 16)
	want := make([][]byte, len(msgs))
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "eyJhbGciOiJSUzI1NiJ9.message-%d", i)
		var err error
		if want[i], err = gok.SignSHA256(msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for j := range 40 {
				i := (g + j) % len(msgs)
				sig, err := ossl.SignSHA256(msgs[i])
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(sig, want[i]) {
					errs <- fmt.Errorf("goroutine %d: signature %d differs", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOpenSSLKeyFreedWhenDropped: the libcrypto copy of a key is freed
// once nothing refers to its Key any more.
func TestOpenSSLKeyFreedWhenDropped(t *testing.T) {
	priv := testKeys()[0]
	before := live.Load()
	keys := make([]*Key, 5)
	for i := range keys {
		k, err := NewOpenSSL(priv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.SignSHA256([]byte("x")); err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	if got := live.Load(); got != before+5 {
		t.Fatalf("live keys = %d, want %d", got, before+5)
	}
	keys = nil
	deadline := time.Now().Add(30 * time.Second)
	for live.Load() > before {
		if time.Now().After(deadline) {
			t.Fatalf("live keys = %d after the Keys were dropped, want %d", live.Load(), before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	_ = keys
}

// FuzzOpenSSLMatchesCryptoRSA: for any message and any of the test keys,
// OpenSSL signs exactly as crypto/rsa does, and crypto/rsa verifies it.
func FuzzOpenSSLMatchesCryptoRSA(f *testing.F) {
	f.Add([]byte(""), uint8(0))
	f.Add([]byte("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJjbGllbnQifQ"), uint8(6))
	f.Add(bytes.Repeat([]byte{0xff}, 5000), uint8(9))
	// Two RSA-2048 keys (the size Sigil generates) rather than testKeys:
	// every fuzz worker generates its own before its first input, and
	// larger keys would eat a short run (TestOpenSSLMatchesCryptoRSA
	// covers 3072 and 4096 bits).
	var ks []*rsa.PrivateKey
	for _, bits := range []int{2048, 2048} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			f.Fatal(err)
		}
		ks = append(ks, k)
	}
	loaded := make([][2]*Key, len(ks))
	for i, priv := range ks {
		loaded[i][0], loaded[i][1] = pair(f, priv)
	}
	f.Fuzz(func(t *testing.T, msg []byte, which uint8) {
		p := loaded[int(which)%len(loaded)]
		sameSignature(t, p[0], p[1], msg)
	})
}
