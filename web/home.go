package web

import (
	"mime"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// registerHome adds the landing page at / for browsers. A request that
// does not ask for HTML (an API client, curl) falls through to the
// router's JSON 404, as before.
func (p *Pages) registerHome(r *mux.Router) {
	r.HandleFunc("/", p.handleHome).Methods(http.MethodGet, http.MethodHead).MatcherFunc(acceptsHTML)
}

// handleHome says what this server is and where to go from here.
func (p *Pages) handleHome(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "home", view{Data: map[string]any{"Issuer": p.cfg.Issuer}})
}

// acceptsHTML reports whether the request's Accept header names
// text/html, as a browser's navigation does.
func acceptsHTML(r *http.Request, _ *mux.RouteMatch) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/html" && params["q"] != "0" {
			return true
		}
	}
	return false
}
