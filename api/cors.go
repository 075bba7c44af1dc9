package api

import (
	"net/http"
	"strings"
)

// CORS on /auth/*: a browser app on another origin may call the account
// endpoints when its origin is in SIGIL_CORS_ORIGINS (none by default).
// Tokens travel in the Authorization header and in response bodies, never
// in cookies, so credentials mode is not enabled
// (no Access-Control-Allow-Credentials) and the allowed origin is always
// echoed exactly, never "*".
const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, Content-Type"
	corsMaxAge  = "600"
	// corsExpose lets scripts read the headers a client needs to back off
	// and to report problems.
	corsExpose = "Retry-After, X-Request-Id, WWW-Authenticate"
)

// cors answers preflight requests on /auth/* and adds the CORS headers to
// actual requests from allowed origins. Requests from other origins get
// no CORS headers, so the browser withholds the answer from the script.
func (s *Server) cors(next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(s.cfg.CORSOrigins))
	for _, o := range s.cfg.CORSOrigins {
		allowed[strings.TrimRight(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !corsPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		ok := origin != "" && allowed[origin]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !ok {
				// No CORS headers: the browser refuses the actual request.
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
		next.ServeHTTP(w, r)
	})
}

// corsPath reports whether path answers browser apps of other origins:
// /auth/*, and the OAuth endpoints a single-page app calls itself (token
// exchange with PKCE, userinfo, revocation).
func corsPath(path string) bool {
	switch path {
	case "/oauth2/token", "/oauth2/userinfo", "/oauth2/revoke":
		return true
	}
	return strings.HasPrefix(path, "/auth/")
}
