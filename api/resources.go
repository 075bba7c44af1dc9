package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/oidc"
)

// createResourceRequest is the body of POST /admin/resources.
type createResourceRequest struct {
	URI  string `json:"uri"`
	Name string `json:"name"`
}

// resourceView is a registered resource server (RFC 8707) as the admin
// API shows it.
type resourceView struct {
	ID        string    `json:"id"`
	URI       string    `json:"uri"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

func viewResource(r oidc.Resource) resourceView {
	return resourceView{ID: r.ID, URI: r.URI, Name: r.Name, CreatedAt: r.CreatedAt}
}

func (s *Server) handleCreateResource(w http.ResponseWriter, r *http.Request) {
	var req createResourceRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	res, err := s.oidc.CreateResource(r.Context(), req.URI, req.Name, s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/admin/resources/"+res.ID)
	writeJSON(w, http.StatusCreated, viewResource(res))
}

func (s *Server) handleListResources(w http.ResponseWriter, r *http.Request) {
	rs, err := s.oidc.Resources(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]resourceView, len(rs))
	for i, res := range rs {
		out[i] = viewResource(res)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"resources": out})
}

func (s *Server) handleDeleteResource(w http.ResponseWriter, r *http.Request) {
	if err := s.oidc.DeleteResource(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
