package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// BenchmarkCreateRefreshToken is the one database write every issuance of
// a refresh token adds: one INSERT of a refresh-token row through the
// store, from parallel goroutines, on each backend. It bounds refresh and
// login throughput when signing is cheap (EdDSA).
func BenchmarkCreateRefreshToken(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, backend.NewURL(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			u := user("bench@example.com")
			if err := db.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(4) // requests wait on I/O, so more than one per core
			b.RunParallel(func(pb *testing.PB) {
				raw := make([]byte, 32)
				for pb.Next() {
					_, _ = rand.Read(raw)
					now := time.Now().UTC()
					err := db.CreateRefreshToken(ctx, authority.RefreshToken{
						Hash: authority.HashToken(hex.EncodeToString(raw)), FamilyID: hex.EncodeToString(raw[:16]),
						UserID: u.ID, ClientID: "sigil", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
