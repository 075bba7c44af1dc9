package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

type tokenRequest struct {
	Token string `json:"token"`
}

type emailRequest struct {
	Email string `json:"email"`
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

type changeEmailRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type passwordRequest struct {
	Password string `json:"password"`
}

// userClaims returns the claims of the user's token that the route's
// guard verified (AccessAccount: a user's token that may call Sigil's
// own API).
func (s *Server) userClaims(w http.ResponseWriter, r *http.Request) (*authority.Claims, bool) {
	c, err := s.bearer(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return nil, false
	}
	return c, true
}

func (s *Server) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.accounts.VerifyEmail(r.Context(), req.Token, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	if err := s.accounts.ResendVerification(r.Context(), c.Subject, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleForgotPassword(w http.ResponseWriter, r *http.Request) {
	var req emailRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.accounts.ForgotPassword(r.Context(), req.Email, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	var req resetRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.accounts.ResetPassword(r.Context(), req.Token, req.Password, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	var req changePasswordRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.accounts.ChangePassword(r.Context(), c.Subject, authority.Reauth{Password: req.CurrentPassword}, req.NewPassword, c.SessionID, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleChangeEmail(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	var req changeEmailRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.accounts.RequestEmailChange(r.Context(), c.Subject, req.Email, req.Password, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleDeleteMe(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if err := s.accounts.DeleteAccount(r.Context(), c.Subject, authority.Reauth{Password: req.Password}, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type sessionJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	ClientID   string    `json:"clientId"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	UserAgent  string    `json:"userAgent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	list, err := s.accounts.Sessions(r.Context(), c.Subject)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]sessionJSON, len(list))
	for i, x := range list {
		out[i] = sessionJSON{ID: x.ID, Kind: x.Kind, ClientID: x.ClientID, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt,
			UserAgent: x.UserAgent, IP: x.IP, Current: x.ID == c.SessionID}
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	if err := s.accounts.RevokeSession(r.Context(), c.Subject, mux.Vars(r)["id"], s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleRevokeAllSessions(w http.ResponseWriter, r *http.Request) {
	c, ok := s.userClaims(w, r)
	if !ok {
		return
	}
	if err := s.accounts.RevokeAllSessions(r.Context(), c.Subject, s.meta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
