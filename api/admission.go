package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// overloadedBody is the answer to a request refused at admission, encoded
// once: the same problem writeProblem gives for authority.ErrOverloaded,
// without a request id (the X-Request-Id header carries it).
var overloadedBody = func() []byte {
	b, err := json.Marshal(problemFor(authority.ErrOverloaded))
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}()

var (
	overloadedType         = []string{"application/problem+json"}
	overloadedRetryAfter   = []string{"1"}
	overloadedLength       = []string{strconv.Itoa(len(overloadedBody))}
	overloadedCacheControl = []string{"no-store"}
)

// refusalLogEvery is how often, at most, refusals at admission are logged:
// one line with the count since the previous one, rather than a line per
// refusal, which under a flood would cost more than the refusal itself.
const refusalLogEvery = 10 * time.Second

// admitHashing guards a route that hashes a password (login, signup).
// Before the body is read or anything else is done, the request takes a
// place among those the hashing slots and their queue can serve
// (authority.Service.AdmitHash). When none is free the answer is a fixed,
// pre-encoded 503 problem+json with Retry-After, counted in
// sigil_overload_refusals_total, logged at debug level (and in a sampled
// warning), and written only after the queue wait has passed: the
// request is held, not served, for that long. A client that retries at
// once, as a flood does, then sends one request per queue wait per
// connection instead of as many as the CPU can refuse, so the CPU stays
// with the hashes that were admitted.
func (s *Server) admitHashing(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		leave, ok := s.auth.AdmitHash()
		if ok {
			defer leave()
			next(w, r)
			return
		}
		s.refuseOverloaded(w, r)
	}
}

func (s *Server) refuseOverloaded(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = overloadedType
	h["Retry-After"] = overloadedRetryAfter
	h["Content-Length"] = overloadedLength
	h["Cache-Control"] = overloadedCacheControl
	s.refuseHeld(w, r, overloadedBody)
}

// refuseHeld answers 503 with body to a request refused at admission,
// after the queue wait, counting and logging it as admitHashing says. The
// headers are already set, Content-Length included. The hosted pages'
// sign-in forms are refused through it too (web.Hooks.RefuseOverloaded),
// with their busy page as the body.
func (s *Server) refuseHeld(w http.ResponseWriter, r *http.Request, body []byte) {
	s.metrics.OverloadRefusals.Inc()
	if info, ok := r.Context().Value(ctxRequest).(*requestInfo); ok {
		info.quiet = true
	}
	s.refusals.note(s.log, r)
	if d := s.refusalHold; d > 0 {
		if holdDetached(w, r, d, body) {
			return
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(body)
}

// holdDetached holds a refusal without its connection's goroutine: an
// HTTP/1 connection is taken from net/http (hijacked), the refusal is
// written to it by a timer when the hold is over, with Connection: close,
// and the handler returns at once. Under a flood of a thousand
// connections, each held for a second, that is the difference between a
// timer and a socket per connection and a goroutine stack with two 4 KiB
// buffers per connection: tens of MiB, which the hashes' memory and the
// soft memory limit do not leave (docs/benchmarks.md). The client opens a
// new connection for its next request. It reports false, having done
// nothing, where the connection cannot be taken (HTTP/2); the handler
// then holds the request itself.
func holdDetached(w http.ResponseWriter, r *http.Request, d time.Duration, body []byte) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	h := w.Header()
	h["Connection"] = []string{"close"}
	h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 503 Service Unavailable\r\n")
	h.Write(&b) // a bytes.Buffer takes every write
	b.WriteString("\r\n")
	b.Write(body)
	recordStatus(w, http.StatusServiceUnavailable, len(body))
	answer := b.Bytes()
	time.AfterFunc(d, func() { writeAndClose(conn, answer) })
	return true
}

// writeAndClose writes a final answer to a taken connection and closes
// it the way net/http does: the write side first, then, once the client
// has read the answer and closed its side (or half a second has passed),
// the rest. Closing at once while the client still has bytes in flight
// would reset the connection and could lose the answer.
func writeAndClose(conn net.Conn, answer []byte) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(answer); err != nil {
		return
	}
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var buf [512]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// recordStatus tells observe's statusWriter, under whatever wraps it,
// what was answered on a connection the handler took over.
func recordStatus(w http.ResponseWriter, status, n int) {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.status, sw.bytes = status, n
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// refusalLog samples the log lines of refusals at admission.
type refusalLog struct {
	count   atomic.Int64 // refusals since the last line
	nextLog atomic.Int64 // unix nanoseconds before which no line is written
}

func (l *refusalLog) note(log *slog.Logger, r *http.Request) {
	l.count.Add(1)
	now := time.Now().UnixNano()
	next := l.nextLog.Load()
	if now < next || !l.nextLog.CompareAndSwap(next, now+int64(refusalLogEvery)) {
		return
	}
	n := l.count.Swap(0)
	log.LogAttrs(r.Context(), slog.LevelWarn, "password-hashing capacity full: requests refused with 503",
		slog.Int64("refused", n), slog.Duration("sampled_every", refusalLogEvery),
		slog.String("last_route", routeOf(r)))
}

func routeOf(r *http.Request) string {
	if info, ok := r.Context().Value(ctxRequest).(*requestInfo); ok {
		return info.route
	}
	return r.URL.Path
}
