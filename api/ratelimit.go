package api

import (
	"container/list"
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sigil-auth/sigil/authority"
)

// rateLimitedPaths are the endpoints that take credentials or mint tokens,
// where a per-client bucket slows guessing and token farming. The limiter
// matches by path, in front of the router, so a route added later under
// one of these paths is covered without further wiring.
var rateLimitedPaths = map[string]bool{
	"/auth/login":   true,
	"/auth/signup":  true,
	"/auth/refresh": true,
	"/oauth2/token": true,
	// Each device authorization is a row and a user code in the space
	// people guess in.
	"/oauth2/device_authorization": true,
	// Introspection answers whether a token is live: limited so a client
	// cannot use it as an oracle at volume.
	"/oauth2/introspect": true,
	// Sign-in with a passkey or security key.
	"/auth/login/webauthn/begin":  true,
	"/auth/login/webauthn/finish": true,
	// Endpoints that send mail or spend mailed tokens.
	"/auth/verify-email":        true,
	"/auth/verify-email/resend": true,
	"/auth/password/forgot":     true,
	"/auth/password/reset":      true,
	"/auth/password":            true,
	"/auth/email":               true,
}

// Limits of the per-client limiter's memory.
const (
	// limiterMaxClients caps the number of client buckets kept (about
	// 200 bytes each); when full, the least recently seen client is
	// forgotten (it starts again with a
	// full bucket, which only favours that client).
	limiterMaxClients = 100_000
	// limiterIdle is how long an untouched bucket is kept. A bucket idle
	// for burst/rate seconds is full again, so forgetting it then changes
	// nothing; the janitor uses the larger of the two.
	limiterIdle = 10 * time.Minute
	// throttleAuditEvery bounds audit writes per client: a flood of
	// refused requests writes one request.throttled event per client per
	// interval (the metric counts every refusal).
	throttleAuditEvery = time.Minute
)

// clientLimiter is a token bucket per client address (golang.org/x/time/rate),
// with bounded memory: at most max entries, idle ones evicted by a janitor.
type clientLimiter struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*list.Element // of *clientBucket
	lru     *list.List               // most recently seen first
}

type clientBucket struct {
	client    string
	lim       *rate.Limiter
	lastSeen  time.Time
	lastAudit time.Time
}

// newClientLimiter returns a limiter of perSecond requests per client with
// a burst of twice that (at least 1). perSecond <= 0 means no limit (nil).
func newClientLimiter(perSecond float64, now func() time.Time) *clientLimiter {
	if perSecond <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	burst := max(1, int(2*perSecond))
	idle := max(limiterIdle, time.Duration(float64(burst)/perSecond*float64(time.Second)))
	return &clientLimiter{limit: rate.Limit(perSecond), burst: burst, max: limiterMaxClients, idle: idle, now: now,
		clients: make(map[string]*list.Element), lru: list.New()}
}

// newBurstLimiter is newClientLimiter with an explicit burst, for a
// limit (client registration) whose rate is far below one per second.
func newBurstLimiter(perSecond float64, burst int, now func() time.Time) *clientLimiter {
	l := newClientLimiter(perSecond, now)
	if l != nil {
		l.burst = max(1, burst)
		l.idle = max(limiterIdle, time.Duration(float64(l.burst)/perSecond*float64(time.Second)))
	}
	return l
}

// allow takes a token for client. When none is left it returns how long
// until one is, and whether this refusal should be audited.
func (l *clientLimiter) allow(client string) (ok bool, wait time.Duration, audit bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *clientBucket
	if el := l.clients[client]; el != nil {
		b = el.Value.(*clientBucket)
		l.lru.MoveToFront(el)
	} else {
		if len(l.clients) >= l.max {
			oldest := l.lru.Back()
			l.lru.Remove(oldest)
			delete(l.clients, oldest.Value.(*clientBucket).client)
		}
		b = &clientBucket{client: client, lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[client] = l.lru.PushFront(b)
	}
	b.lastSeen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		audit = now.Sub(b.lastAudit) >= throttleAuditEvery
		if audit {
			b.lastAudit = now
		}
		return false, d, audit
	}
	return true, 0, false
}

// sweep forgets clients idle for longer than the idle period, oldest
// first from the back of the recency list.
func (l *clientLimiter) sweep() {
	cutoff := l.now().Add(-l.idle)
	l.mu.Lock()
	defer l.mu.Unlock()
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		b := el.Value.(*clientBucket)
		if !b.lastSeen.Before(cutoff) {
			return
		}
		l.lru.Remove(el)
		delete(l.clients, b.client)
	}
}

func (l *clientLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// run sweeps idle clients every minute until ctx ends.
func (l *clientLimiter) run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.sweep()
		}
	}
}

// rateLimit refuses requests to the rate-limited paths beyond the client's
// bucket with 429 and Retry-After, counts them, and audits them (at most
// once per client per minute). The body is a problem on /auth/*, and an
// RFC 6749 error (temporarily_unavailable) on /oauth2/*, which OAuth
// clients parse.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions || !rateLimitedPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ip := s.clientIP(r)
		ok, wait, audit := s.limiter.allow(authority.ClientBucket(ip))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		s.metrics.Throttled.WithLabelValues("rate").Inc()
		if audit {
			s.auth.Audit(r.Context(), authority.Event{Type: authority.EventRequestThrottled, IP: ip, Detail: "request rate limit exceeded on " + r.URL.Path})
		}
		err := &authority.ThrottledError{RetryAfter: wait, Reason: "rate"}
		if strings.HasPrefix(r.URL.Path, "/oauth2/") {
			s.writeOAuthError(w, r, err, false)
			return
		}
		s.writeProblem(w, r, err)
	})
}
