package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is api/openapi.yaml, the OpenAPI 3.1 description of every route
// the server answers; tests keep it and the router in step.
//
//go:embed openapi.yaml
var OpenAPI []byte

// handleOpenAPI serves the OpenAPI document at /openapi.yaml.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(OpenAPI)
}
