package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

type ctxKey int

const (
	ctxRequest ctxKey = iota
	ctxAdmin
)

// requestInfo travels in the request context from observe: the request id,
// and the route template the router matched, for the access log and
// metrics. One value rather than two saves a context per request.
type requestInfo struct {
	id    string
	route string
	// quiet puts the access-log line at debug level: set for refusals at
	// admission, which are counted and logged in samples instead.
	quiet bool
}

// markRoute records the matched route template for the access log and
// metrics; it runs inside the router, where the match is known.
func markRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(ctxRequest).(*requestInfo); ok {
			if rt := mux.CurrentRoute(r); rt != nil {
				if t, err := rt.GetPathTemplate(); err == nil {
					info.route = t
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func requestID(ctx context.Context) string {
	if info, ok := ctx.Value(ctxRequest).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// validRequestID accepts a caller's X-Request-Id only if it is short and
// plain, so it cannot forge log lines.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// newRequestID returns 16 random hex digits. A request id only has to be
// unique enough to find a request in the logs, so it comes from the
// runtime's fast per-thread generator rather than crypto/rand.
func newRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns a request id, recovers panics into a 500 problem (the
// stack goes to the log, never to the client), and writes one access-log
// line per request: method, route, status, duration (at debug level for
// the successful answers of quietRoutes). It never logs bodies,
// query strings or the Authorization header, so passwords and tokens stay
// out of the logs.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header()["X-Request-Id"] = []string{id}
		info := &requestInfo{id: id, route: "unmatched"}
		sw := &statusWriter{ResponseWriter: w}
		defer s.finishRequest(sw, r, info, start)
		// The JWKS is the hottest path: it goes straight to its handler,
		// skipping the request copy that carries info in its context and
		// the router's regular-expression matching with its two copies
		// more. Nothing between observe and the router applies to it, and
		// its answer is the one the route would give.
		if r.URL.Path == jwksPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			info.route = jwksPath
			s.handleJWKS(sw, r)
			return
		}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxRequest, info)))
	})
}

// finishRequest is observe's ending, deferred: a panic becomes a 500
// problem (its stack goes to the log), then the request is counted and
// logged.
func (s *Server) finishRequest(sw *statusWriter, r *http.Request, info *requestInfo, start time.Time) {
	if v := recover(); v != nil {
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.Error("panic serving request", "request_id", info.id, "panic", v, "stack", string(debug.Stack()))
		if sw.status == 0 {
			s.writeProblem(sw, r.WithContext(context.WithValue(r.Context(), ctxRequest, info)), errInternal)
		}
	}
	elapsed := time.Since(start)
	s.metrics.observeRequest(info.route, r.Method, sw.status, elapsed)
	level := slog.LevelInfo
	if info.quiet || (quietRoutes[info.route] && sw.status < 400) {
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		if s.cfg.ClientIPHeader == "" && !s.warnedPrivate.Load() {
			s.clientIP(r) // for its one warning about private peers
		}
		return
	}
	s.log.LogAttrs(r.Context(), level, "request",
		slog.String("request_id", info.id), slog.String("method", r.Method), slog.String("route", info.route),
		slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
		slog.Duration("duration", elapsed), slog.String("remote", s.clientIP(r)))
}

// quietRoutes are the public, cacheable endpoints that resource servers,
// load balancers and scrapers poll all day. Their successful answers are
// logged at debug level, so the access log at info level holds the
// requests that act on accounts and tokens; their failures stay at info,
// and every request still counts in the metrics.
var quietRoutes = map[string]bool{
	jwksPath: true, "/.well-known/openid-configuration": true, "/.well-known/oauth-authorization-server": true,
	"/healthz": true, "/readyz": true, "/metrics": true,
}

var errInternal = newProblem(http.StatusInternalServerError, "internal", "Internal error", "the request could not be completed")

// clientIP is the address rate limits and audit events use: the TCP peer,
// or, when SIGIL_CLIENT_IP_HEADER names a header set by a reverse proxy,
// the right-most address that is not a trusted proxy, across every line
// of that header (a proxy that appends a line of its own must not let the
// client's line win). With SIGIL_TRUSTED_PROXIES unset the peer is the one
// trusted proxy, so the header's last address is taken; with it set, the
// header is read only when the peer is in it, and the trusted addresses
// are skipped from the right. A malformed entry ends the walk at the last
// address known good.
func (s *Server) clientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	peerAddr, err := netip.ParseAddr(peer)
	if err != nil {
		return peer
	}
	peerAddr = peerAddr.Unmap()
	if s.cfg.ClientIPHeader == "" {
		s.warnPrivatePeer(peerAddr)
		return peerAddr.String()
	}
	if len(s.cfg.TrustedProxies) > 0 && !s.trusted(peerAddr) {
		return peerAddr.String()
	}
	var hops []string
	for _, line := range r.Header.Values(s.cfg.ClientIPHeader) {
		hops = append(hops, strings.Split(line, ",")...)
	}
	client := peerAddr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if len(s.cfg.TrustedProxies) == 0 || !s.trusted(client) {
			break
		}
	}
	return client.String()
}

// trusted reports whether a is one of SIGIL_TRUSTED_PROXIES.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// warnPrivatePeer logs once when a request arrives from a private address
// while no client-address header is configured: Sigil probably runs
// behind a proxy, and every client then shares the proxy's rate-limit
// bucket and lockout-free budget.
func (s *Server) warnPrivatePeer(a netip.Addr) {
	if !a.IsPrivate() || s.warnedPrivate.Swap(true) {
		return
	}
	s.log.Warn("requests come from a private address and SIGIL_CLIENT_IP_HEADER is not set: behind a reverse proxy every client shares one rate-limit bucket; set SIGIL_CLIENT_IP_HEADER (and SIGIL_TRUSTED_PROXIES)", "peer", a.String())
}

// noStore marks answers that carry tokens or account data as uncacheable.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}
