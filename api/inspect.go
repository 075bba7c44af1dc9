package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// inspectRequest is the body of POST /admin/tokens/inspect.
type inspectRequest struct {
	Token    string `json:"token"`
	Audience string `json:"audience"`
}

// handleInspect answers POST /admin/tokens/inspect: the token's header and
// claims decoded on the server, and every reason it does not verify here.
// The token is neither logged nor stored, and the answer is not cached;
// the inspection is audited with what the token names.
func (s *Server) handleInspect(w http.ResponseWriter, r *http.Request) {
	var req inspectRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	in, err := s.inspector.Inspect(r.Context(), req.Token, req.Audience, s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, in)
}

// handleRotateClientSecret answers POST /admin/clients/{id}/secret with a
// new secret, shown this once; the old one stops working at once.
func (s *Server) handleRotateClientSecret(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	secret, err := s.auth.RotateClientSecret(r.Context(), id, s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]string{"clientId": id, "clientSecret": secret})
}
