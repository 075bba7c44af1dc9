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

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/inspect"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/upstream"
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
	// Registration is the mode of dynamic client registration
	// (RegistrationOff, RegistrationToken, RegistrationOpen); "" is off.
	Registration string
	// RegistrationRate is the per-address rate (per second) of client
	// registrations, in a bucket of registrationBurst; 0 turns it off.
	RegistrationRate float64
}

// Readiness reports whether the database answers. Ready must return by
// the time ctx ends, however the database behaves.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Server serves Sigil's HTTP API.
type Server struct {
	cfg      Config
	auth     *authority.Service
	factors  *mfa.Service
	accounts *account.Service
	// inspector explains tokens to administrators.
	inspector *inspect.Service
	oidc      *oidc.Service
	upstreams *upstream.Service
	keys      *keys.Manager
	ready     Readiness
	log       *slog.Logger
	metrics   *Metrics
	router    *mux.Router
	// access is the declared access of every route, by "METHOD /path".
	access  map[string]Access
	limiter *clientLimiter
	// registrations limits client registrations per address, tighter
	// than limiter.
	registrations *clientLimiter
	// warnedPrivate is set once the private-peer warning is logged.
	warnedPrivate atomic.Bool

	// refusalHold is how long a request refused at admission is held
	// before its 503 is written; refusals samples their log lines.
	refusalHold time.Duration
	refusals    refusalLog

	jwksCacheControl []string
	discoveryCache
}

// Services are the domain services the API serves.
type Services struct {
	Auth     *authority.Service
	Factors  *mfa.Service
	Accounts *account.Service
	Inspect  *inspect.Service
	// Flow is the OpenID Connect flow; nil serves no code flow, as in
	// tests of the REST API alone.
	Flow *oidc.Service
	Keys *keys.Manager
	// Upstreams is sign-in through other identity providers; nil
	// answers 404 at /admin/upstreams.
	Upstreams *upstream.Service
}

// New builds the HTTP API on top of the domain services.
func New(cfg Config, d Services, ready Readiness, metrics *Metrics, log *slog.Logger) *Server {
	auth, km := d.Auth, d.Keys
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if metrics == nil {
		metrics = NewMetrics(km.Ring())
	}
	s := &Server{cfg: cfg, auth: auth, factors: d.Factors, accounts: d.Accounts, inspector: d.Inspect, oidc: d.Flow, upstreams: d.Upstreams, keys: km, ready: ready, log: log, metrics: metrics, limiter: newClientLimiter(cfg.RateLimit, nil)}
	if s.registrationOn() && cfg.RegistrationRate > 0 {
		s.registrations = newBurstLimiter(cfg.RegistrationRate, registrationBurst, nil)
	}
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

	s.handle(r, "/auth/signup", AccessPublic, s.admitHashing(s.handleSignup), http.MethodPost)
	s.handle(r, "/auth/login", AccessPublic, s.admitHashing(s.handleLogin), http.MethodPost)
	s.handle(r, "/auth/me", AccessAccount, s.handleMe, http.MethodGet)
	s.handle(r, "/auth/me", AccessAccount, s.handleDeleteMe, http.MethodDelete)

	// Accounts: verification, recovery, password and email changes,
	// sessions.
	s.handle(r, "/auth/verify-email", AccessPublic, s.handleVerifyEmail, http.MethodPost)
	s.handle(r, "/auth/verify-email/resend", AccessAccount, s.handleResendVerification, http.MethodPost)
	s.handle(r, "/auth/password/forgot", AccessPublic, s.handleForgotPassword, http.MethodPost)
	s.handle(r, "/auth/password/reset", AccessPublic, s.handleResetPassword, http.MethodPost)
	s.handle(r, "/auth/password", AccessAccount, s.handleChangePassword, http.MethodPost)
	s.handle(r, "/auth/email", AccessAccount, s.handleChangeEmail, http.MethodPost)
	s.handle(r, "/auth/sessions", AccessAccount, s.handleSessions, http.MethodGet)
	s.handle(r, "/auth/sessions/revoke-all", AccessAccount, s.handleRevokeAllSessions, http.MethodPost)
	s.handle(r, "/auth/sessions/{id}", AccessAccount, s.handleRevokeSession, http.MethodDelete)

	// Second factors.
	s.handle(r, "/auth/login/mfa", AccessPublic, s.handleLoginMFA, http.MethodPost)
	s.handle(r, "/auth/mfa", AccessAccount, s.handleFactors, http.MethodGet)
	s.handle(r, "/auth/mfa/totp", AccessEnrolment, s.handleEnrollTOTP, http.MethodPost)
	s.handle(r, "/auth/mfa/totp", AccessAccount, s.handleRemoveTOTP, http.MethodDelete)
	s.handle(r, "/auth/mfa/totp/confirm", AccessEnrolment, s.handleConfirmTOTP, http.MethodPost)
	s.handle(r, "/auth/mfa/recovery-codes", AccessAccount, s.handleRegenerateRecoveryCodes, http.MethodPost)
	s.handle(r, "/admin/users/{id}/mfa", AccessAdmin, s.handleResetFactors, http.MethodDelete)
	s.registerWebAuthn(r)

	// Sessions and OAuth 2.0 (/oauth2/* check the method themselves, so a
	// wrong one gets an RFC 6749 error rather than problem+json).
	s.handle(r, "/auth/refresh", AccessPublic, s.handleRefresh, http.MethodPost)
	s.handle(r, "/auth/logout", AccessPublic, s.handleLogout, http.MethodPost)
	s.handle(r, "/oauth2/token", AccessOAuthClient, s.handleToken)
	s.handle(r, "/oauth2/device_authorization", AccessOAuthClient, s.handleDeviceAuthorization)
	s.handle(r, "/oauth2/revoke", AccessOAuthClient, s.handleRevoke)
	s.handle(r, "/oauth2/introspect", AccessOAuthClient, s.handleIntrospect)
	s.handle(r, "/oauth2/userinfo", AccessOAuthBearer, s.handleUserInfo)
	s.handle(r, "/admin/clients", AccessAdmin, s.handleCreateClient, http.MethodPost)
	s.handle(r, "/admin/clients", AccessAdmin, s.handleListClients, http.MethodGet)
	s.handle(r, "/admin/clients/{id}", AccessAdmin, s.handleDeleteClient, http.MethodDelete)
	s.handle(r, registrationPath, AccessRegistration, s.handleRegister)
	s.handle(r, registrationPath+"/{id}", AccessRegistrationClient, s.handleRegistration)
	s.handle(r, "/admin/registration-tokens", AccessAdmin, s.handleCreateRegistrationToken, http.MethodPost)
	s.handle(r, "/admin/registration-tokens", AccessAdmin, s.handleListRegistrationTokens, http.MethodGet)
	s.handle(r, "/admin/registration-tokens/{id}", AccessAdmin, s.handleDeleteRegistrationToken, http.MethodDelete)
	s.handle(r, "/admin/resources", AccessAdmin, s.handleCreateResource, http.MethodPost)
	s.handle(r, "/admin/resources", AccessAdmin, s.handleListResources, http.MethodGet)
	s.handle(r, "/admin/resources/{id}", AccessAdmin, s.handleDeleteResource, http.MethodDelete)
	s.handle(r, "/admin/upstreams", AccessAdmin, s.handleCreateUpstream, http.MethodPost)
	s.handle(r, "/admin/upstreams", AccessAdmin, s.handleListUpstreams, http.MethodGet)
	s.handle(r, "/admin/upstreams/{id}", AccessAdmin, s.handleGetUpstream, http.MethodGet)
	s.handle(r, "/admin/upstreams/{id}", AccessAdmin, s.handlePutUpstream, http.MethodPut)
	s.handle(r, "/admin/upstreams/{id}", AccessAdmin, s.handleDeleteUpstream, http.MethodDelete)

	s.handle(r, "/.well-known/jwks.json", AccessPublic, s.handleJWKS, http.MethodGet, http.MethodHead)
	s.handle(r, "/.well-known/openid-configuration", AccessPublic, s.handleDiscovery, http.MethodGet, http.MethodHead)
	s.handle(r, "/.well-known/oauth-authorization-server", AccessPublic, s.handleASMetadata, http.MethodGet, http.MethodHead)
	s.handle(r, "/healthz", AccessPublic, s.handleHealth, http.MethodGet, http.MethodHead)
	s.handle(r, "/readyz", AccessOperator, s.handleReady, http.MethodGet, http.MethodHead)
	s.handle(r, "/metrics", AccessPublic, s.metrics.Handler().ServeHTTP, http.MethodGet)
	s.handle(r, "/openapi.yaml", AccessPublic, s.handleOpenAPI, http.MethodGet, http.MethodHead)

	s.handle(r, "/admin/keys", AccessAdmin, s.handleListKeys, http.MethodGet)
	s.handle(r, "/admin/keys/rotate", AccessAdmin, s.handleRotateKey, http.MethodPost)
	s.handle(r, "/admin/keys/{kid}/revoke", AccessAdmin, s.handleRevokeKey, http.MethodPost)
	s.handle(r, "/admin/audit", AccessAdmin, s.handleAudit, http.MethodGet)
	s.handle(r, "/admin/keys/timeline", AccessAdmin, s.handleKeyTimeline, http.MethodGet)
	s.handle(r, "/admin/overview", AccessAdmin, s.handleOverview, http.MethodGet)
	s.handle(r, "/admin/tokens/inspect", AccessAdmin, s.handleInspect, http.MethodPost)
	s.handle(r, "/admin/clients/{id}/secret", AccessAdmin, s.handleRotateClientSecret, http.MethodPost)

	s.handle(r, "/admin/users", AccessAdmin, s.handleListUsers, http.MethodGet)
	s.handle(r, "/admin/users/{id}", AccessAdmin, s.handleGetUser, http.MethodGet)
	s.handle(r, "/admin/users/{id}", AccessAdmin, s.handleDeleteUser, http.MethodDelete)
	s.handle(r, "/admin/users/{id}/lock", AccessAdmin, s.handleLockUser(true), http.MethodPost)
	s.handle(r, "/admin/users/{id}/unlock", AccessAdmin, s.handleLockUser(false), http.MethodPost)
	s.handle(r, "/admin/users/{id}/roles", AccessAdmin, s.handleSetRoles, http.MethodPut)
	s.handle(r, "/admin/users/{id}/password-reset", AccessAdmin, s.handleAdminReset, http.MethodPost)
	s.handle(r, "/admin/users/{id}/sessions", AccessAdmin, s.handleUserSessions, http.MethodGet)
	s.handle(r, "/admin/users/{id}/sessions/revoke-all", AccessAdmin, s.handleRevokeUserSessions, http.MethodPost)
	s.handle(r, "/admin/users/{id}/mfa", AccessAdmin, s.handleUserFactors, http.MethodGet)
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
	if s.registrations != nil {
		go s.registrations.run(ctx)
	}
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
