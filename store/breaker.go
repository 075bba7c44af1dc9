package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// errCircuitOpen is what a query meets while the breaker is open: it never
// reaches the database.
var errCircuitOpen = authority.ErrCircuitOpen

// DefaultProbeInterval is how often an open breaker pings the database.
const DefaultProbeInterval = 500 * time.Millisecond

// breaker stops requests from queueing on a database that has stopped
// answering. Without it every request that needs the database waits the
// full query timeout during an outage (and a stalled database holds every
// pool connection for that long). Once a query has timed out or found its
// connection broken, the breaker opens: queries fail at once with
// ErrUnavailable while one background probe pings the database every
// interval, and the first answer closes it again.
//
// Only Postgres has one: an SQLite file does not go away, and a query that
// times out there waited on a lock, not on a dead server.
type breaker struct {
	open     atomic.Bool
	interval time.Duration
	// ping checks the database, bypassing the breaker.
	ping func(ctx context.Context) error
	// timeout bounds each probe.
	timeout func() time.Duration

	mu     sync.Mutex
	log    *slog.Logger
	since  time.Time
	closed bool // the DB is closed: probe no more
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newBreaker(ping func(ctx context.Context) error, timeout func() time.Duration) *breaker {
	return &breaker{interval: DefaultProbeInterval, ping: ping, timeout: timeout,
		log: slog.New(slog.DiscardHandler), stop: make(chan struct{})}
}

// isOpen reports whether queries are refused; nil-safe.
func (b *breaker) isOpen() bool { return b != nil && b.open.Load() }

// trip opens the breaker because of cause and starts the probe, unless it
// is open already.
func (b *breaker) trip(cause error) {
	if b == nil || !b.open.CompareAndSwap(false, true) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.since = time.Now()
	b.log.Warn("database unavailable: refusing queries until a probe answers", "err", cause.Error())
	b.wg.Add(1)
	go b.probe()
}

// probe pings the database every interval until it answers (closing the
// breaker) or the DB is closed.
func (b *breaker) probe() {
	defer b.wg.Done()
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout())
		err := b.ping(ctx)
		cancel()
		if err == nil {
			b.mu.Lock()
			since := b.since
			b.mu.Unlock()
			b.open.Store(false)
			b.log.Info("database answers again: breaker closed", "down_for", time.Since(since).Round(time.Millisecond).String())
			return
		}
	}
}

// shutdown stops the probe and waits for it.
func (b *breaker) shutdown() {
	if b == nil {
		return
	}
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// SetLogger sets where the breaker says when it opens and closes.
func (d *DB) SetLogger(log *slog.Logger) {
	if d.brk == nil || log == nil {
		return
	}
	d.brk.mu.Lock()
	d.brk.log = log
	d.brk.mu.Unlock()
}

// SetProbeInterval sets how often an open breaker pings the database;
// d <= 0 keeps DefaultProbeInterval.
func (d *DB) SetProbeInterval(t time.Duration) {
	if d.brk == nil || t <= 0 {
		return
	}
	d.brk.interval = t
}

// Available reports whether queries reach the database: false while the
// breaker is open after a failed query.
func (d *DB) Available() bool { return !d.brk.isOpen() }

// tripsBreaker reports whether err says the database (or the way to it) is
// gone rather than a statement failing: a query that ran out of time, a
// connection that broke. A statement the server canceled (the caller gave
// up, or the deadline fired while the server was still answering) proves
// the server alive, so it does not trip.
func tripsBreaker(err error) bool {
	if errors.Is(err, context.Canceled) || isCanceled(err) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driverBadConn) || errors.Is(err, sql.ErrConnDone) || isNetError(err)
}

// readyPing is at most one ping in flight for Ready, shared by every caller
// that arrives meanwhile.
type readyPing struct {
	mu  sync.Mutex
	cur *pingCall
}

type pingCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// Ready reports, within the bound of ctx, whether the database answers.
// It never waits longer than ctx allows, even when the database hangs: the
// ping runs in the background (one at a time, whoever asks; it ends within
// the query timeout) and a caller whose ctx ends first gets ErrUnavailable.
// While the breaker is open it answers at once.
func (d *DB) Ready(ctx context.Context) error {
	if d.brk.isOpen() {
		return errCircuitOpen
	}
	rp := &d.ready
	rp.mu.Lock()
	call := rp.cur
	if call == nil {
		call = &pingCall{done: make(chan struct{})}
		rp.cur = call
		go func() {
			call.err = d.Ping(context.Background())
			rp.mu.Lock()
			rp.cur = nil
			rp.mu.Unlock()
			close(call.done)
		}()
	}
	rp.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return fmt.Errorf("%w: the database did not answer a ping in time", ErrUnavailable)
	}
}
