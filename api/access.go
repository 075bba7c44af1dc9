package api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

// Access is the kind of caller a route accepts. Every route of the API
// declares one where it is registered (see handle), the guard enforces
// it before the handler runs, and docs/security.md's "Who may call what"
// table is checked against the declarations by a test.
type Access int

const (
	// AccessPublic: anyone; credentials, if any, are in the body (a
	// password, a refresh token, a link's token).
	AccessPublic Access = iota + 1
	// AccessAccount: a user's access token from Sigil's REST sign-in or
	// from a first-party client, for Sigil's audience.
	AccessAccount
	// AccessAdmin: AccessAccount with the admin role; a client's token
	// also needs the scope sigil:admin.
	AccessAdmin
	// AccessOAuthClient: OAuth client authentication (RFC 6749 §2.3);
	// the handler checks it, as the OAuth specifications say.
	AccessOAuthClient
	// AccessOAuthBearer: any access token this authority issued, under
	// OAuth's rules (userinfo: a token issued with openid).
	AccessOAuthBearer
	// AccessOperator: public, answering more to an administrator's token
	// (/readyz's detail).
	AccessOperator
	// AccessEnrolment: AccessAccount, or the enrolment token of an
	// mfa-enrollment-required answer (opaque, not a JWT), which the
	// handler checks: the first second factor of a user whose roles
	// require one.
	AccessEnrolment
	// AccessRegistration: dynamic client registration (RFC 7591), by
	// Config.Registration: anyone (open), a Bearer initial access token
	// (token), or nobody (off: 404); the handler checks it.
	AccessRegistration
	// AccessRegistrationClient: a registered client's registration
	// access token (RFC 7592), which the handler checks.
	AccessRegistrationClient
)

// String names the access in the docs' table.
func (a Access) String() string {
	switch a {
	case AccessPublic:
		return "public"
	case AccessAccount:
		return "account token (REST sign-in or first-party client)"
	case AccessAdmin:
		return "admin token (REST sign-in, or first-party client with sigil:admin)"
	case AccessOAuthClient:
		return "OAuth client authentication"
	case AccessOAuthBearer:
		return "any access token of this issuer (OAuth rules)"
	case AccessOperator:
		return "public; more detail for an admin token"
	case AccessEnrolment:
		return "account token, or the enrolment token of an mfa-enrollment-required answer"
	case AccessRegistration:
		return "by SIGIL_REGISTRATION: public (open), an initial access token (token), 404 (off)"
	case AccessRegistrationClient:
		return "the client's registration access token (RFC 7592); 404 while registration is off"
	}
	return "undeclared"
}

type ctxClaimsKey struct{}

// handle registers h for path and methods with its access declared, and
// wraps it in the guard of that access.
func (s *Server) handle(r *mux.Router, path string, access Access, h http.HandlerFunc, methods ...string) *mux.Route {
	if s.access == nil {
		s.access = map[string]Access{}
	}
	for _, m := range methods {
		s.access[m+" "+path] = access
	}
	if len(methods) == 0 {
		s.access["* "+path] = access
	}
	route := r.HandleFunc(path, s.guard(access, h))
	if len(methods) > 0 {
		route.Methods(methods...)
	}
	return route
}

// guard enforces access before h: for the account and admin API it
// verifies the Bearer token, asks the domain whether it may call Sigil's
// own API (authority.AuthorizeAPI), and passes the claims on in the
// request's context (see bearer).
func (s *Server) guard(access Access, h http.HandlerFunc) http.HandlerFunc {
	var need authority.APIAccess
	switch access {
	case AccessAccount, AccessEnrolment:
		need = authority.AccessAccount
	case AccessAdmin:
		need = authority.AccessAdmin
	default:
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if access == AccessEnrolment && enrolmentBearer(r) {
			h(w, r)
			return
		}
		c, err := s.verifyBearer(r)
		if err == nil {
			err = s.auth.AuthorizeAPI(r.Context(), c, need)
		}
		if err != nil {
			s.writeAccessProblem(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), ctxClaimsKey{}, c)
		if access == AccessAdmin {
			ctx = context.WithValue(ctx, ctxAdmin, c)
		}
		h(w, r.WithContext(ctx))
	}
}

// enrolmentBearer reports whether the request's Bearer credential is an
// opaque enrolment token rather than an access token (a JWT has dots).
func enrolmentBearer(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return ok && strings.EqualFold(scheme, "Bearer") && tok != "" && !strings.Contains(tok, ".")
}

// writeAccessProblem answers a token refused by the guard: 401 for a
// missing or bad token, 403 with error="insufficient_scope" for a valid
// one that may not call the route.
func (s *Server) writeAccessProblem(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, authority.ErrInsufficientScope):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		detail := err.Error()
		if i := strings.Index(detail, ": "); i >= 0 {
			detail = detail[i+2:]
		}
		s.writeProblem(w, r, newProblem(http.StatusForbidden, "insufficient-scope", "Insufficient scope", detail))
	case errors.Is(err, authority.ErrNotAdmin):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		s.writeProblem(w, r, errForbidden)
	case errors.Is(err, authority.ErrNotUser):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		s.writeProblem(w, r, newProblem(http.StatusForbidden, "not-a-user", "Not a user token", "this endpoint needs a token issued to a user"))
	default:
		s.writeProblem(w, r, err)
	}
}

// RouteAccess lists every route of the API, "METHOD /path" ("*" for a
// route that takes any method), with its declared access, sorted.
func (s *Server) RouteAccess() []RouteAccess {
	out := make([]RouteAccess, 0, len(s.access))
	for k, a := range s.access {
		m, p, _ := strings.Cut(k, " ")
		out = append(out, RouteAccess{Method: m, Path: p, Access: a.String()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// RouteAccess is one row of the access table.
type RouteAccess struct {
	Method, Path, Access string
}
