package api

import (
	"context"
	"net/http"

	"github.com/sigil-auth/sigil/authority"
)

// requireAdmin lets a request through only with a valid Bearer access
// token from this authority whose roles contain "admin": 401 with
// WWW-Authenticate: Bearer without a valid token, 403 without the role.
// The verified claims travel in the request context (see adminClaims).
func (s *Server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.bearer(r)
		if err != nil {
			s.writeProblem(w, r, err)
			return
		}
		if !c.HasRole("admin") {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			s.writeProblem(w, r, errForbidden)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxAdmin, c)))
	}
}

// adminClaims returns the claims of the administrator making the request.
func adminClaims(ctx context.Context) *authority.Claims {
	c, _ := ctx.Value(ctxAdmin).(*authority.Claims)
	return c
}
