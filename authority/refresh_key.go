package authority

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// A refresh token is 32 bytes, base64url (43 characters): the time it was
// issued, in Unix milliseconds on 48 bits big-endian, then 208 random
// bits. It is stored under its key: the hex of that time followed by the
// token's SHA-256 (RefreshTokenKey). The keys of new tokens therefore
// grow with time, so each rotation inserts its successor at the right end
// of the primary-key index, in a page already in the cache, however large
// the table: a random key put each insertion into a random leaf of an
// index far larger than Postgres's buffers (docs/benchmarks.md, "Cost as
// data grows"). The time is no secret (the access token's iat says it);
// the 208 random bits are, and are only ever stored hashed.
//
// Tokens issued before this shape are 256 random bits stored under their
// plain hash; refreshByToken still finds them.
const refreshTimeBytes = 6

// refreshKeyAhead: a token whose leading time is further ahead of the
// clock than this was not issued with a time prefix (a random token of
// the older shape reads as a time before it only about once in 160), so
// its key is not tried.
const refreshKeyAhead = 30 * 24 * time.Hour

// newRefreshTokenText returns a refresh token issued at now.
func newRefreshTokenText(now time.Time) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b[refreshTimeBytes:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(now.UnixMilli()))
	copy(b, t[8-refreshTimeBytes:])
	return base64.RawURLEncoding.EncodeToString(b)
}

// refreshTokenTime returns the issue time a refresh token carries; false
// when tok is not 32 bytes of base64url.
func refreshTokenTime(tok string) (time.Time, bool) {
	if len(tok) != 43 {
		return time.Time{}, false
	}
	var t [8]byte
	// Eight characters are six bytes exactly.
	if _, err := base64.RawURLEncoding.Decode(t[8-refreshTimeBytes:], []byte(tok[:8])); err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(t[:]))), true
}

// RefreshTokenKey is the key the refresh token tok is stored under: the
// hex of its leading six bytes (its issue time) and its SHA-256.
func RefreshTokenKey(tok string) string {
	if len(tok) < 8 {
		return HashToken(tok)
	}
	var t [refreshTimeBytes]byte
	if _, err := base64.RawURLEncoding.Decode(t[:], []byte(tok[:8])); err != nil {
		return HashToken(tok)
	}
	return hex.EncodeToString(t[:]) + HashToken(tok)
}

// refreshByToken returns the stored refresh token tok, or ErrNotFound: by
// its time-ordered key when it carries a plausible issue time, else (or
// when that finds nothing: a token of the older shape whose first bytes
// happen to read as a time) by its plain hash. A token of the current
// shape costs one lookup; one of the older shape at most two.
func (s *Service) refreshByToken(ctx context.Context, tok string) (RefreshToken, error) {
	if at, ok := refreshTokenTime(tok); ok && at.Before(s.now().Add(refreshKeyAhead)) {
		rt, err := s.store.RefreshTokenByHash(ctx, RefreshTokenKey(tok))
		if !errors.Is(err, ErrNotFound) {
			return rt, err
		}
	}
	return s.store.RefreshTokenByHash(ctx, HashToken(tok))
}
