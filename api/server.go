// Package api is Sigil's HTTP interface: gorilla/mux routes, handlers,
// middleware and the mapping of domain errors to problem+json answers. It
// knows HTTP and the domain packages, and nothing about SQL.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Config holds the HTTP layer's settings.
type Config struct {
	Issuer         string
	JWKSMaxAge     time.Duration
	ClientIPHeader string
	// TrustedProxies are the proxies whose addresses are skipped, from
	// the right, in ClientIPHeader; empty means the TCP peer is the one
	// trusted proxy.
	TrustedProxies []netip.Prefix
	// RateLimit is the per-client request rate (per second) on the
	// credential endpoints, burst twice that; 0 turns it off.
	RateLimit float64
	// CORSOrigins may call /auth/* from a browser.
	CORSOrigins []string
}

// Readiness reports whether the database answers. Ready must return by
// the time ctx ends, however the database behaves.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Server serves Sigil's HTTP API.
type Server struct {
	cfg     Config
	auth    *authority.Service
	keys    *keys.Manager
	ready   Readiness
	log     *slog.Logger
	metrics *Metrics
	router  *mux.Router
	limiter *clientLimiter
	// warnedPrivate is set once the private-peer warning is logged.
	warnedPrivate atomic.Bool

	// refusalHold is how long a request refused at admission is held
	// before its 503 is written; refusals samples their log lines.
	refusalHold time.Duration
	refusals    refusalLog

	jwksCacheControl []string
	discoveryCache
}

// New builds the HTTP API on top of the domain services.
func New(cfg Config, auth *authority.Service, km *keys.Manager, ready Readiness, metrics *Metrics, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if metrics == nil {
		metrics = NewMetrics(km.Ring())
	}
	s := &Server{cfg: cfg, auth: auth, keys: km, ready: ready, log: log, metrics: metrics, limiter: newClientLimiter(cfg.RateLimit, nil)}
	s.refusalHold = auth.HashQueueWait()
	s.jwksCacheControl = []string{"public, max-age=" + strconv.Itoa(int(cfg.JWKSMaxAge/time.Second))}
	s.router = s.routes()
	return s
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.Use(markRoute)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeProblem(w, r, errNotFound) })
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.writeProblem(w, r, errMethod) })

	r.HandleFunc("/auth/signup", s.admitHashing(s.handleSignup)).Methods(http.MethodPost)
	r.HandleFunc("/auth/login", s.admitHashing(s.handleLogin)).Methods(http.MethodPost)
	r.HandleFunc("/auth/me", s.handleMe).Methods(http.MethodGet)
	r.HandleFunc("/auth/me", s.handleDeleteMe).Methods(http.MethodDelete)

	// Accounts: verification, recovery, password and email changes,
	// sessions.
	r.HandleFunc("/auth/verify-email", s.handleVerifyEmail).Methods(http.MethodPost)
	r.HandleFunc("/auth/verify-email/resend", s.handleResendVerification).Methods(http.MethodPost)
	r.HandleFunc("/auth/password/forgot", s.handleForgotPassword).Methods(http.MethodPost)
	r.HandleFunc("/auth/password/reset", s.handleResetPassword).Methods(http.MethodPost)
	r.HandleFunc("/auth/password", s.handleChangePassword).Methods(http.MethodPost)
	r.HandleFunc("/auth/email", s.handleChangeEmail).Methods(http.MethodPost)
	r.HandleFunc("/auth/sessions", s.handleSessions).Methods(http.MethodGet)
	r.HandleFunc("/auth/sessions/revoke-all", s.handleRevokeAllSessions).Methods(http.MethodPost)
	r.HandleFunc("/auth/sessions/{id}", s.handleRevokeSession).Methods(http.MethodDelete)

	// Second factors.
	r.HandleFunc("/auth/login/mfa", s.handleLoginMFA).Methods(http.MethodPost)
	r.HandleFunc("/auth/mfa", s.handleFactors).Methods(http.MethodGet)
	r.HandleFunc("/auth/mfa/totp", s.handleEnrollTOTP).Methods(http.MethodPost)
	r.HandleFunc("/auth/mfa/totp", s.handleRemoveTOTP).Methods(http.MethodDelete)
	r.HandleFunc("/auth/mfa/totp/confirm", s.handleConfirmTOTP).Methods(http.MethodPost)
	r.HandleFunc("/auth/mfa/recovery-codes", s.handleRegenerateRecoveryCodes).Methods(http.MethodPost)
	r.HandleFunc("/admin/users/{id}/mfa", s.requireAdmin(s.handleResetFactors)).Methods(http.MethodDelete)
	s.registerWebAuthn(r)

	// Sessions and OAuth 2.0 (/oauth2/* check the method themselves, so a
	// wrong one gets an RFC 6749 error rather than problem+json).
	r.HandleFunc("/auth/refresh", s.handleRefresh).Methods(http.MethodPost)
	r.HandleFunc("/auth/logout", s.handleLogout).Methods(http.MethodPost)
	r.HandleFunc("/oauth2/token", s.handleToken)
	r.HandleFunc("/oauth2/revoke", s.handleRevoke)
	r.HandleFunc("/oauth2/introspect", s.handleIntrospect)
	r.HandleFunc("/oauth2/userinfo", s.handleUserInfo)
	r.HandleFunc("/admin/clients", s.requireAdmin(s.handleCreateClient)).Methods(http.MethodPost)
	r.HandleFunc("/admin/clients", s.requireAdmin(s.handleListClients)).Methods(http.MethodGet)
	r.HandleFunc("/admin/clients/{id}", s.requireAdmin(s.handleDeleteClient)).Methods(http.MethodDelete)

	r.HandleFunc("/.well-known/jwks.json", s.handleJWKS).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/.well-known/openid-configuration", s.handleDiscovery).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", s.metrics.Handler()).Methods(http.MethodGet)
	r.HandleFunc("/openapi.yaml", s.handleOpenAPI).Methods(http.MethodGet, http.MethodHead)

	r.HandleFunc("/admin/keys", s.requireAdmin(s.handleListKeys)).Methods(http.MethodGet)
	r.HandleFunc("/admin/keys/rotate", s.requireAdmin(s.handleRotateKey)).Methods(http.MethodPost)
	r.HandleFunc("/admin/keys/{kid}/revoke", s.requireAdmin(s.handleRevokeKey)).Methods(http.MethodPost)
	r.HandleFunc("/admin/audit", s.requireAdmin(s.handleAudit)).Methods(http.MethodGet)
	r.HandleFunc("/admin/keys/timeline", s.requireAdmin(s.handleKeyTimeline)).Methods(http.MethodGet)
	r.HandleFunc("/admin/overview", s.requireAdmin(s.handleOverview)).Methods(http.MethodGet)
	r.HandleFunc("/admin/tokens/inspect", s.requireAdmin(s.handleInspect)).Methods(http.MethodPost)
	r.HandleFunc("/admin/clients/{id}/secret", s.requireAdmin(s.handleRotateClientSecret)).Methods(http.MethodPost)

	r.HandleFunc("/admin/users", s.requireAdmin(s.handleListUsers)).Methods(http.MethodGet)
	r.HandleFunc("/admin/users/{id}", s.requireAdmin(s.handleGetUser)).Methods(http.MethodGet)
	r.HandleFunc("/admin/users/{id}", s.requireAdmin(s.handleDeleteUser)).Methods(http.MethodDelete)
	r.HandleFunc("/admin/users/{id}/lock", s.requireAdmin(s.handleLockUser(true))).Methods(http.MethodPost)
	r.HandleFunc("/admin/users/{id}/unlock", s.requireAdmin(s.handleLockUser(false))).Methods(http.MethodPost)
	r.HandleFunc("/admin/users/{id}/roles", s.requireAdmin(s.handleSetRoles)).Methods(http.MethodPut)
	r.HandleFunc("/admin/users/{id}/password-reset", s.requireAdmin(s.handleAdminReset)).Methods(http.MethodPost)
	r.HandleFunc("/admin/users/{id}/sessions", s.requireAdmin(s.handleUserSessions)).Methods(http.MethodGet)
	r.HandleFunc("/admin/users/{id}/sessions/revoke-all", s.requireAdmin(s.handleRevokeUserSessions)).Methods(http.MethodPost)
	r.HandleFunc("/admin/users/{id}/mfa", s.requireAdmin(s.handleUserFactors)).Methods(http.MethodGet)
	return r
}

// Handler returns the root handler with the middleware applied: request
// ids, logs and metrics outermost, then CORS on /auth/*, then the
// per-client rate limit on the credential endpoints.
func (s *Server) Handler() http.Handler { return s.observe(s.cors(s.rateLimit(s.router))) }

// Run does the HTTP layer's background work (evicting idle rate-limit
// buckets) until ctx ends.
func (s *Server) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s.metrics.SampleIssued(now)
			}
		}
	}()
	if s.limiter != nil {
		s.limiter.run(ctx)
	}
	<-ctx.Done()
	<-done
}

// HTTPServer returns an http.Server for addr with timeouts that keep slow
// or idle clients from holding connections (slow-loris): headers within
// 5 s, whole requests within 15 s, answers written within 30 s, idle
// keep-alive connections closed after 2 min, and 16 KiB of headers at
// most (431 beyond).
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
