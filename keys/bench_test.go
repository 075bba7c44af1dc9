package keys_test

import (
	"testing"

	"github.com/sigil-auth/sigil/keys"
)

// BenchmarkGenerate measures key generation per algorithm: the CPU cost of
// a rotation, paid before the key lock is taken.
func BenchmarkGenerate(b *testing.B) {
	for _, alg := range keys.Algs {
		b.Run(string(alg), func(b *testing.B) {
			for b.Loop() {
				if _, err := keys.Generate(alg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
