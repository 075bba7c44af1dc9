package authority

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Defaults of the password-hashing admission control.
const (
	// DefaultHashQueueWait is how long a login or signup waits for a hashing
	// slot before it is refused with ErrOverloaded.
	DefaultHashQueueWait = time.Second
)

// hashGate bounds how many password hashes run at once, and how many
// requests wait for one. A hash is pure CPU and memory (argon2id takes
// tens of MiB), so running more of them than there are cores only makes
// every one slower and the process bigger. Requests beyond the slots and
// the short queue are refused at once instead, so the admitted ones keep
// their latency as offered load grows and memory stays bounded.
type hashGate struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	wait     time.Duration
}

func newHashGate(slots, queue int, wait time.Duration) *hashGate {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	if queue < 0 {
		queue = 0
	} else if queue == 0 {
		queue = slots
	}
	if wait <= 0 {
		wait = DefaultHashQueueWait
	}
	return &hashGate{slots: make(chan struct{}, slots), maxQueue: int64(queue), wait: wait}
}

// acquire takes a hashing slot, waiting at most the queue wait (and never
// past ctx) if all are busy. It returns the function that gives the slot
// back, or ErrOverloaded.
func (g *hashGate) acquire(ctx context.Context) (func(), error) {
	// Take a free slot at once only when nobody is waiting, so a waiter
	// is not overtaken by every newcomer (blocked channel senders are
	// served in order).
	if g.waiting.Load() == 0 {
		select {
		case g.slots <- struct{}{}:
			return g.release, nil
		default:
		}
	}
	if g.waiting.Add(1) > g.maxQueue {
		g.waiting.Add(-1)
		return nil, ErrOverloaded
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	case <-t.C:
		return nil, ErrOverloaded
	case <-ctx.Done():
		return nil, ErrOverloaded
	}
}

func (g *hashGate) release() { <-g.slots }
