package authority

import (
	"context"
	"runtime"
	"sync"
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
//
// A freed slot is handed straight to the longest waiter, under the lock,
// so the queue length is exact even while that waiter is not yet running
// (on a machine busy hashing it may not run for a while).
//
// In front of the slots, each client (ClientBucket of its address) may
// have at most perClient requests running or waiting, so that one client
// cannot fill the slots and the queue and lock everyone else out; its
// further requests are refused at once with a ThrottledError.
type hashGate struct {
	mu        sync.Mutex
	free      int
	slots     int
	queue     []chan struct{} // waiters, oldest first; closed when handed a slot
	maxQueue  int
	wait      time.Duration
	perClient int
	clients   map[string]int // requests running or waiting, by client bucket
}

func newHashGate(slots, queue, perClient int, wait time.Duration) *hashGate {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	if queue < 0 {
		queue = 0
	} else if queue == 0 {
		// Enough to absorb an ordinary burst (a page of users logging in
		// at once) within the queue wait, short enough that the waiters
		// of an overload are refused within a second.
		queue = 8 * slots
	}
	if wait <= 0 {
		wait = DefaultHashQueueWait
	}
	if perClient == 0 {
		// A quarter of what the gate holds: one client can never take
		// more than that, so three quarters stay for everyone else.
		perClient = max(2, (slots+queue)/4)
	}
	return &hashGate{free: slots, slots: slots, maxQueue: queue, wait: wait, perClient: perClient, clients: map[string]int{}}
}

// enter counts a request of client (an address) against its cap; the
// returned function ends it. An empty client (the command line, the
// bootstrap) is not capped.
func (g *hashGate) enter(client string) (func(), error) {
	if client == "" || g.perClient < 0 {
		return func() {}, nil
	}
	key := ClientBucket(client)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.clients[key] >= g.perClient {
		return nil, &ThrottledError{RetryAfter: time.Second, Reason: "rate"}
	}
	g.clients[key]++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.clients[key]--; g.clients[key] <= 0 {
			delete(g.clients, key)
		}
	}, nil
}

// acquireFor is acquire under client's cap: the client's request counts
// from before it waits until the returned function gives the slot back.
func (g *hashGate) acquireFor(ctx context.Context, client string) (func(), error) {
	leave, err := g.enter(client)
	if err != nil {
		return nil, err
	}
	release, err := g.acquire(ctx)
	if err != nil {
		leave()
		return nil, err
	}
	return func() { release(); leave() }, nil
}

// acquire takes a hashing slot, waiting at most the queue wait (and never
// past ctx) if all are busy. It returns the function that gives the slot
// back, or ErrOverloaded.
func (g *hashGate) acquire(ctx context.Context) (func(), error) {
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return g.release, nil
	}
	if len(g.queue) >= g.maxQueue {
		g.mu.Unlock()
		return nil, ErrOverloaded
	}
	ready := make(chan struct{})
	g.queue = append(g.queue, ready)
	g.mu.Unlock()

	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case <-ready:
		return g.release, nil
	case <-t.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.queue {
		if q == ready {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return nil, ErrOverloaded
		}
	}
	// The slot was handed over just as the wait ended: keep it.
	return g.release, nil
}

// release gives a slot back: to the longest waiter if there is one.
func (g *hashGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		close(g.queue[0])
		g.queue = g.queue[1:]
		return
	}
	g.free++
}

// waiting returns the number of requests waiting for a slot.
func (g *hashGate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// admission counts the requests admitted to the hashing paths, from the
// moment their handler starts until it returns: at most the hashing slots
// plus their queue. It is taken before anything else is done for a
// request (no body read, no JSON decoded, no database read), so an
// overload is refused for the price of one atomic addition.
type admission struct {
	n   atomic.Int64
	max int64
}

func (a *admission) enter() bool {
	if a.n.Add(1) > a.max {
		a.n.Add(-1)
		return false
	}
	return true
}

func (a *admission) leave() { a.n.Add(-1) }

// AdmitHash reserves a place for a request that will hash a password
// (login, signup), before its body is read. It reports false when as many
// such requests are already in progress as there are hashing slots plus
// places in their queue: the request would be refused with ErrOverloaded
// anyway, and refusing it now costs nothing but the answer. On true, the
// caller must call leave when the request is done.
func (s *Service) AdmitHash() (leave func(), ok bool) {
	if !s.admitted.enter() {
		return nil, false
	}
	return s.admitted.leave, true
}

// HashQueueWait is how long a request waits for a hashing slot before it
// is refused.
func (s *Service) HashQueueWait() time.Duration { return s.hashes.wait }
