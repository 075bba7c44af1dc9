package authority_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// Refresh tokens are stored under keys that grow with their issue time,
// so a rotation inserts at the right end of the index: each key is the
// hex of the token's leading six bytes (the issue time in milliseconds)
// and the token's SHA-256; tokens keep their 43 characters and are
// otherwise random. On both stores.
func TestRefreshTokenKeysFollowIssueTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, 0)
		tok := f.login(t, "order@example.com").RefreshToken
		var keys []string
		seen := map[string]bool{}
		for range 5 {
			if !authority.PlausibleToken(tok) || seen[tok] {
				t.Fatalf("token %q", tok)
			}
			seen[tok] = true
			rt, err := f.db.RefreshTokenByHash(context.Background(), authority.RefreshTokenKey(tok))
			if err != nil {
				t.Fatalf("the token is not stored under its key: %v", err)
			}
			raw, _ := base64.RawURLEncoding.DecodeString(tok)
			var ms [8]byte
			copy(ms[2:], raw[:6])
			if at := time.UnixMilli(int64(binary.BigEndian.Uint64(ms[:]))); !at.Equal(rt.CreatedAt) {
				t.Errorf("the token says it was issued at %v, stored %v", at, rt.CreatedAt)
			}
			if rt.Hash != hex.EncodeToString(raw[:6])+authority.HashToken(tok) {
				t.Errorf("key %q", rt.Hash)
			}
			keys = append(keys, rt.Hash)
			f.clk.Advance(1500 * time.Microsecond)
			p, err := f.refresh(tok)
			if err != nil {
				t.Fatal(err)
			}
			tok = p.RefreshToken
		}
		if !slices.IsSorted(keys) {
			t.Errorf("keys out of issue order: %q", keys)
		}
	})
}

// A refresh token of the older shape (256 random bits under their plain
// hash, stored before the time-ordered keys) still refreshes, is revoked
// and found by introspection; its successor has the new shape. Also when
// its first bytes happen to read as a recent time, the case where the
// key is tried first and misses.
func TestRefreshTokensOfTheOlderShapeStillWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, 0)
		ctx := context.Background()
		first := f.login(t, "legacy@example.com").RefreshToken
		rt, err := f.db.RefreshTokenByHash(ctx, authority.RefreshTokenKey(first))
		if err != nil {
			t.Fatal(err)
		}
		random := make([]byte, 32)
		rand.Read(random)
		timeLike := make([]byte, 32)
		rand.Read(timeLike)
		var ms [8]byte
		binary.BigEndian.PutUint64(ms[:], uint64(f.clk.Now().UnixMilli()))
		copy(timeLike, ms[2:])
		for i, raw := range [][]byte{random, timeLike} {
			old := base64.RawURLEncoding.EncodeToString(raw)
			legacy := rt
			legacy.Hash, legacy.FamilyID = authority.HashToken(old), rt.FamilyID+"-legacy"+string(rune('a'+i))
			if err := f.db.CreateRefreshToken(ctx, legacy); err != nil {
				t.Fatal(err)
			}
			if in, err := f.svc.Introspect(ctx, authority.Client{ID: "sigil"}, old); err != nil || !in.Active {
				t.Errorf("introspection of the older shape: %+v %v", in, err)
			}
			p, err := f.refresh(old)
			if err != nil {
				t.Fatalf("refresh with the older shape (%d): %v", i, err)
			}
			if _, err := f.db.RefreshTokenByHash(ctx, authority.RefreshTokenKey(p.RefreshToken)); err != nil {
				t.Errorf("the successor is not stored under a time-ordered key: %v", err)
			}
			// Presented again it is a reuse, found by its plain hash.
			if _, err := f.refresh(old); !errors.Is(err, authority.ErrRefreshReuse) {
				t.Errorf("reuse of the older shape: %v", err)
			}
		}
	})
}
