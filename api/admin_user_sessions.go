package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// The administrator's view of one user's sessions and second factors,
// which the console's user page shows next to the account.

// handleUserSessions answers GET /admin/users/{id}/sessions with the
// user's live refresh-token families and browser sessions.
func (s *Server) handleUserSessions(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if _, err := s.auth.UserByID(r.Context(), id); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	list, err := s.accounts.Sessions(r.Context(), id)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]sessionJSON, len(list))
	for i, x := range list {
		out[i] = sessionJSON{ID: x.ID, Kind: x.Kind, ClientID: x.ClientID, CreatedAt: x.CreatedAt, LastUsedAt: x.LastUsedAt,
			UserAgent: x.UserAgent, IP: x.IP}
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// handleRevokeUserSessions answers POST
// /admin/users/{id}/sessions/revoke-all: every session of the user ends
// (refresh-token families and browser sessions), audited with the
// administrator's id.
func (s *Server) handleRevokeUserSessions(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.AdminRevokeSessions(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleUserFactors answers GET /admin/users/{id}/mfa with the user's
// second factors (never their secrets).
func (s *Server) handleUserFactors(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if _, err := s.auth.UserByID(r.Context(), id); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	f, err := s.factors.Factors(r.Context(), id)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, factorsResponse{TOTP: f.TOTP, RecoveryCodesLeft: f.RecoveryCodes})
}
