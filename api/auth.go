package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/sigil-auth/sigil/authority"
)

type signupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// tokenResponse is the answer to a login or refresh.
type tokenResponse struct {
	Token        string `json:"token"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
	RefreshToken string `json:"refreshToken"`
	UserID       string `json:"userId"`
}

func (s *Server) meta(r *http.Request) authority.Meta {
	return authority.Meta{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	var req signupRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	in := authority.Signup{Email: req.Email, Password: req.Password, Name: req.Name}
	if s.auth.Config().RequireVerifiedEmail {
		// The same answer for a new and a registered email.
		if err := s.auth.SignupPrivate(r.Context(), in, s.meta(r)); err != nil {
			s.writeProblem(w, r, err)
			return
		}
		noStore(w)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	u, err := s.auth.Signup(r.Context(), in, s.meta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusCreated, map[string]string{"userId": u.ID})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if req.Email == "" {
		s.writeProblem(w, r, invalidField("email", "is required"))
		return
	}
	if req.Password == "" {
		s.writeProblem(w, r, invalidField("password", "is required"))
		return
	}
	pair, err := s.auth.Login(r.Context(), req.Email, req.Password, s.meta(r))
	if err != nil {
		if s.writeMFAProblem(w, r, err) {
			return
		}
		s.countLoginError(err)
		s.writeProblem(w, r, err)
		return
	}
	s.writeTokens(w, pair)
}

// countLoginError feeds the login-failure and throttle metrics.
func (s *Server) countLoginError(err error) {
	switch {
	case errors.Is(err, authority.ErrInvalidCredentials):
		s.metrics.LoginFailures.Inc()
	case errors.Is(err, authority.ErrThrottled):
		s.metrics.Throttled.WithLabelValues("account").Inc()
	}
}

func (s *Server) writeTokens(w http.ResponseWriter, pair authority.TokenPair) {
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{
		Token: pair.AccessToken, TokenType: "Bearer", ExpiresIn: pair.ExpiresIn,
		RefreshToken: pair.RefreshToken, UserID: pair.UserID,
	})
}

type meResponse struct {
	UserID        string   `json:"userId"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Roles         []string `json:"roles"`
	EmailVerified bool     `json:"emailVerified"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	c, err := s.bearer(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	p, err := s.auth.Profile(r.Context(), c)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, meResponse{UserID: c.Subject, Email: c.Email, Name: p.Name, Roles: c.Roles, EmailVerified: p.EmailVerified})
}

// bearer returns the claims of the request's Bearer token, as the guard
// of an account or admin route verified them (see handle).
func (s *Server) bearer(r *http.Request) (*authority.Claims, error) {
	if c, ok := r.Context().Value(ctxClaimsKey{}).(*authority.Claims); ok {
		return c, nil
	}
	return nil, errUnauthenticated
}

// verifyBearer verifies the request's Bearer access token, for any
// audience: authority.AuthorizeAPI decides what it may call.
func (s *Server) verifyBearer(r *http.Request) (*authority.Claims, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errUnauthenticated
	}
	return s.auth.VerifyAnyAudience(r.Context(), strings.TrimSpace(tok))
}
