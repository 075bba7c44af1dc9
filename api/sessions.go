package api

import (
	"net/http"

	"github.com/sigil-auth/sigil/authority"
)

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// handleRefresh rotates a refresh token issued by /auth/login: 200 like
// login with a new refresh token; 401 for a spent (the family is then
// revoked), revoked, expired or unknown one.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeRefresh(w, r)
	if !ok {
		return
	}
	pair, err := s.auth.Refresh(r.Context(), req.RefreshToken, s.auth.Config().LoginClientID, "", "", s.meta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	s.writeTokens(w, pair)
}

// handleLogout revokes the family of a refresh token and answers 204
// whether or not the token was known, so the answer reveals nothing.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeRefresh(w, r)
	if !ok {
		return
	}
	if err := s.auth.Logout(r.Context(), req.RefreshToken, authority.Meta{IP: s.clientIP(r)}); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	w.WriteHeader(http.StatusNoContent)
}

// decodeRefresh reads a {"refreshToken"} body, answering the problem itself
// when it is malformed or the token is missing (ok is then false).
func (s *Server) decodeRefresh(w http.ResponseWriter, r *http.Request) (refreshRequest, bool) {
	var req refreshRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return req, false
	}
	if req.RefreshToken == "" {
		s.writeProblem(w, r, invalidField("refreshToken", "is required"))
		return req, false
	}
	return req, true
}
