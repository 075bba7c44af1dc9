package keystest

import (
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
)

// Clock is a time source that only moves when told to. It is safe for
// concurrent use; pass its Now method wherever a func() time.Time goes.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// KEK is the key-encryption key of Ring, base64 of 32 bytes.
const KEK = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// Ring returns a keyring whose one key, of alg, has been active since now
// and is sealed under KEK.
func Ring(t testing.TB, alg keys.Alg, now time.Time) *keys.Ring {
	t.Helper()
	sealer, err := keys.ParseKEKs(KEK)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := keys.NewRecord(alg, sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	rec.State, rec.ActivatedAt = keys.Active, now
	snap, err := keys.Build([]keys.Record{rec}, sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	ring := &keys.Ring{}
	ring.Store(snap)
	return ring
}
