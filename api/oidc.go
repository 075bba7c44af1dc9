package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/web"
)

// MountPages adds the hosted pages and the browser side of OpenID Connect
// (/login, /signup, /account, /consent, /oauth2/authorize,
// /oauth2/logout) and the admin console (/console/) to the router. Call it
// before serving.
func (s *Server) MountPages(cfg web.Config) error {
	p, err := web.New(cfg, web.Services{Auth: s.auth, Factors: s.factors, Accounts: s.accounts, Flow: s.oidc, Upstreams: s.upstreams}, web.Hooks{
		ClientIP:    s.clientIP,
		Limiter:     s,
		Authorize:   func(outcome string) { s.metrics.Authorize.WithLabelValues(outcome).Inc() },
		LoginResult: func(err error) { s.countLoginError(err) },
		RefuseOverloaded: func(w http.ResponseWriter, r *http.Request, body []byte) {
			s.refuseHeld(w, r, body)
		},
	}, s.log)
	if err != nil {
		return err
	}
	p.Register(s.router)
	// The console calls the REST API in-process, through the router alone:
	// the outer request was already logged, counted and rate-limited.
	p.RegisterConsole(s.router, s.router, cfg.Sealer)
	return nil
}

// Allow takes a token from the client's rate-limit bucket, as the
// credential endpoints do: it reports whether r may proceed and, if not,
// after how long.
func (s *Server) Allow(r *http.Request) (bool, time.Duration) {
	if s.limiter == nil {
		return true, 0
	}
	ip := s.clientIP(r)
	ok, wait, audit := s.limiter.allow(authority.ClientBucket(ip))
	if !ok {
		s.metrics.Throttled.WithLabelValues("rate").Inc()
		if audit {
			s.auth.Audit(r.Context(), authority.Event{Type: authority.EventRequestThrottled, IP: ip, Detail: "request rate limit exceeded on " + r.URL.Path})
		}
	}
	return ok, wait
}

// handleUserInfo is the OpenID Connect userinfo endpoint (GET or POST): a
// Bearer access token issued with the openid scope, for any audience,
// answers sub and the claims its scopes allow.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "use GET or POST"})
		return
	}
	noStore(w)
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sigil"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "a Bearer access token is required"})
		return
	}
	c, err := s.auth.VerifyAnyAudience(r.Context(), tok)
	var info map[string]any
	if err == nil {
		info, err = s.oidc.UserInfo(r.Context(), c)
	}
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, info)
	case errors.Is(err, authority.ErrInvalidToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="sigil", error="invalid_token", error_description="the access token is invalid, expired, revoked or not issued with the openid scope"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is invalid, expired, revoked or not issued with the openid scope"})
	default:
		s.writeOAuthError(w, r, err, false)
	}
}
