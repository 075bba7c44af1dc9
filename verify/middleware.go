package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

type claimsKey struct{}

// NewContext returns a copy of ctx that carries claims. [Verifier.Middleware]
// uses it; tests of handlers behind the middleware can use it too.
func NewContext(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// ClaimsFromContext returns the claims that [Verifier.Middleware] stored in
// the request context, and whether there were any.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Middleware returns a handler that lets through only requests carrying a
// valid bearer token (RFC 6750) in their Authorization header, and passes
// the token's claims to next in the request context (see
// [ClaimsFromContext]).
//
// A request without a bearer token gets 401 with a WWW-Authenticate
// challenge naming no error; a rejected token gets 401 with
// error="invalid_token"; a valid token that lacks a scope or role the
// Verifier requires gets 403 with error="insufficient_scope". Each answer
// has a small JSON body. With [WithResource], every challenge also names
// the resource's RFC 9728 metadata (resource_metadata).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := bearerToken(r)
		if token == "" {
			challenge(w, http.StatusUnauthorized, v.cfg.realm, "", "a bearer token is required", "", v.metadataURL)
			return
		}
		claims, err := v.Verify(r.Context(), token)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), claims)))
		case errors.Is(err, ErrInsufficientScope):
			challenge(w, http.StatusForbidden, v.cfg.realm, "insufficient_scope",
				"the token lacks a required scope or role", strings.Join(v.cfg.scopes, " "), v.metadataURL)
		default:
			challenge(w, http.StatusUnauthorized, v.cfg.realm, "invalid_token", description(err), "", v.metadataURL)
		}
	})
}

// RequireScope returns middleware that answers 403 with
// error="insufficient_scope" unless the claims in the request context (put
// there by [Verifier.Middleware]) include scope. A request without claims
// gets 401.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return require(func(c *Claims) bool { return c.HasScope(scope) },
		"the token lacks the scope "+scope, scope)
}

// RequireRole returns middleware that answers 403 with
// error="insufficient_scope" unless the claims in the request context (put
// there by [Verifier.Middleware]) include role. A request without claims
// gets 401.
func RequireRole(role string) func(http.Handler) http.Handler {
	return require(func(c *Claims) bool { return c.HasRole(role) },
		"the token lacks the role "+role, "")
}

func require(ok func(*Claims) bool, desc, scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, found := ClaimsFromContext(r.Context())
			switch {
			case !found:
				challenge(w, http.StatusUnauthorized, "", "", "a bearer token is required", "", "")
			case !ok(c):
				challenge(w, http.StatusForbidden, "", "insufficient_scope", desc, scope, "")
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// bearerToken returns the token of an "Authorization: Bearer" header, or ""
// when there is none. The scheme is case-insensitive.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// challenge answers with status, a Bearer WWW-Authenticate challenge and a
// small JSON body. Empty realm, code, scope and metadata are left out of
// the challenge; RFC 6750 wants no error code when no token was
// presented. metadata is the resource's RFC 9728 metadata URL.
func challenge(w http.ResponseWriter, status int, realm, code, desc, scope, metadata string) {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(quoted(value))
		b.WriteByte('"')
		sep = ", "
	}
	if realm != "" {
		param("realm", realm)
	}
	if code != "" {
		param("error", code)
		param("error_description", desc)
	}
	if scope != "" {
		param("scope", scope)
	}
	if metadata != "" {
		param("resource_metadata", metadata)
	}
	h := w.Header()
	h.Set("WWW-Authenticate", b.String())
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := struct {
		Error       string `json:"error,omitempty"`
		Description string `json:"error_description"`
	}{code, desc}
	_ = json.NewEncoder(w).Encode(body)
}

// quoted escapes s for the inside of an HTTP quoted-string: quotes and
// backslashes get a backslash, and characters outside printable ASCII are
// dropped, as RFC 6750 allows none in its parameters.
func quoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		}
	}
	return b.String()
}
