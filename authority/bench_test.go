package authority

import (
	"context"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
)

// BenchmarkSignAccessToken builds and signs the claims of a user's access
// token with the active key of each algorithm: the cost every issuance
// (login, refresh, client_credentials) pays besides its database work.
func BenchmarkSignAccessToken(b *testing.B) {
	for _, alg := range keys.Algs {
		b.Run(string(alg), func(b *testing.B) {
			s := newTestService(b, newMemStore(), alg, nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := s.NewAccessClaims("5d0c3a4e-1b2c-4d5e-8f90-123456789abc", "sigil", "", Audience{"sigil"}, 15*time.Minute)
					c.Email, c.Roles = "ada@example.com", []string{}
					if _, err := s.Sign(c, "password"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkVerify checks an access token as /auth/me and the admin
// endpoints do: parse, key lookup, signature, claims.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range keys.Algs {
		b.Run(string(alg), func(b *testing.B) {
			s := newTestService(b, newMemStore(), alg, nil)
			c := s.NewAccessClaims("5d0c3a4e-1b2c-4d5e-8f90-123456789abc", "sigil", "", Audience{"sigil"}, 15*time.Minute)
			c.Email, c.Roles = "ada@example.com", []string{}
			tok, err := s.Sign(c, "password")
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Verify(ctx, tok, ""); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkArgon2idHash hashes a password at the production parameters
// (DefaultArgon2), one hash per core at a time: the ceiling of login and
// signup throughput.
func BenchmarkArgon2idHash(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := DefaultArgon2.Hash("correct horse battery"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckPassword verifies a password against a stored argon2id
// hash at the production parameters, as a login does.
func BenchmarkCheckPassword(b *testing.B) {
	stored, err := DefaultArgon2.Hash("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := CheckPassword(stored, "correct horse battery", DefaultArgon2); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
