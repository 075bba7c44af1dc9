package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/sigil-auth/sigil/authority"
)

// requireAdmin lets a request through only with a valid Bearer access
// token from this authority whose roles contain "admin", of an account
// that still exists, is not locked and still has the role: 401 with
// WWW-Authenticate: Bearer without a valid token (or for a locked or
// deleted account), 403 without the role.
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
		// The token's roles are those of its issue: the account is read
		// again, so a locked, deleted or demoted administrator is refused
		// at once, not only when the deny list reaches the token.
		if err := s.auth.CheckAdmin(r.Context(), c.Subject); errors.Is(err, authority.ErrNotAdmin) {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			s.writeProblem(w, r, errForbidden)
			return
		} else if err != nil {
			s.writeProblem(w, r, err)
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
