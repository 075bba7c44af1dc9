package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

// userJSON is a user as administrators see it: never the password hash.
type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	EmailVerified bool      `json:"emailVerified"`
	Locked        bool      `json:"locked"`
	Roles         []string  `json:"roles"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

func toUserJSON(u authority.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, EmailVerified: u.EmailVerified, Locked: u.Locked,
		Roles: u.Roles(), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeProblem(w, r, invalidField("limit", "must be a positive integer"))
			return
		}
		limit = n
	}
	page, err := s.auth.ListUsers(r.Context(), q.Get("email"), q.Get("cursor"), limit)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]userJSON, len(page.Users))
	for i, u := range page.Users {
		out[i] = toUserJSON(u)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "nextCursor": page.Next})
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.auth.UserByID(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (s *Server) handleLockUser(locked bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.auth.SetLocked(r.Context(), mux.Vars(r)["id"], locked, s.adminMeta(r)); err != nil {
			s.writeProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

type rolesRequest struct {
	Roles []string `json:"roles"`
}

func (s *Server) handleSetRoles(w http.ResponseWriter, r *http.Request) {
	var req rolesRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if req.Roles == nil {
		s.writeProblem(w, r, invalidField("roles", "is required (an array, possibly empty)"))
		return
	}
	if err := s.auth.SetRoles(r.Context(), mux.Vars(r)["id"], req.Roles, s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.DeleteUser(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminReset(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.AdminSendReset(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
