package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/upstream"
)

// upstreamRequest is the body of POST /admin/upstreams and PUT
// /admin/upstreams/{id}.
type upstreamRequest struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	Scopes       []string `json:"scopes"`
	Linking      string   `json:"linking"`
}

func (q upstreamRequest) domain() upstream.NewUpstream {
	return upstream.NewUpstream{ID: q.ID, Name: q.Name, Type: q.Type, Issuer: q.Issuer, ClientID: q.ClientID,
		ClientSecret: q.ClientSecret, Scopes: q.Scopes, Linking: q.Linking}
}

// upstreamView is an upstream as the admin API shows it: never its
// secret.
type upstreamView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Issuer      string    `json:"issuer"`
	ClientID    string    `json:"clientId"`
	Scopes      []string  `json:"scopes"`
	Linking     string    `json:"linking"`
	RedirectURI string    `json:"redirectUri"`
	CreatedAt   time.Time `json:"createdAt"`
}

func (s *Server) viewUpstream(u upstream.Upstream) upstreamView {
	return upstreamView{ID: u.ID, Name: u.Name, Type: u.Type, Issuer: u.Issuer, ClientID: u.ClientID, Scopes: u.Scopes,
		Linking: u.Linking, RedirectURI: s.upstreams.CallbackURL(u.ID), CreatedAt: u.CreatedAt}
}

// upstreamsOn answers 404 when the server was built without upstreams.
func (s *Server) upstreamsOn(w http.ResponseWriter, r *http.Request) bool {
	if s.upstreams == nil {
		s.writeProblem(w, r, errNotFound)
		return false
	}
	return true
}

func (s *Server) handleCreateUpstream(w http.ResponseWriter, r *http.Request) {
	var req upstreamRequest
	if !s.upstreamsOn(w, r) {
		return
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	u, err := s.upstreams.Create(r.Context(), req.domain(), s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/admin/upstreams/"+u.ID)
	noStore(w)
	writeJSON(w, http.StatusCreated, s.viewUpstream(u))
}

func (s *Server) handleListUpstreams(w http.ResponseWriter, r *http.Request) {
	if !s.upstreamsOn(w, r) {
		return
	}
	us, err := s.upstreams.List(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]upstreamView, len(us))
	for i, u := range us {
		out[i] = s.viewUpstream(u)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"upstreams": out})
}

// upstreamDetail is one upstream with what deleting it would remove:
// the identities linked through it, and the accounts among theirs left
// with no password and no other upstream.
type upstreamDetail struct {
	upstreamView
	LinkedIdentities        int `json:"linkedIdentities"`
	AccountsWithoutPassword int `json:"accountsWithoutPassword"`
}

func (s *Server) handleGetUpstream(w http.ResponseWriter, r *http.Request) {
	if !s.upstreamsOn(w, r) {
		return
	}
	u, err := s.upstreams.Get(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	n, err := s.upstreams.CountIdentities(r.Context(), u.ID)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, upstreamDetail{upstreamView: s.viewUpstream(u), LinkedIdentities: n.Linked, AccountsWithoutPassword: n.WithoutPassword})
}

func (s *Server) handlePutUpstream(w http.ResponseWriter, r *http.Request) {
	if !s.upstreamsOn(w, r) {
		return
	}
	var req upstreamRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	req.ID = mux.Vars(r)["id"]
	u, err := s.upstreams.Replace(r.Context(), req.domain(), s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, s.viewUpstream(u))
}

func (s *Server) handleDeleteUpstream(w http.ResponseWriter, r *http.Request) {
	if !s.upstreamsOn(w, r) {
		return
	}
	if err := s.upstreams.Delete(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
