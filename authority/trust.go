package authority

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Scopes with a meaning of Sigil's own.
const (
	// ScopeEmail puts the user's email in a third-party client's access
	// token (and, with OpenID Connect, in its ID token and userinfo).
	ScopeEmail = "email"
	// ScopeRoles puts the user's roles in a third-party client's access
	// token; first-party clients and REST sign-in always carry them.
	ScopeRoles = "roles"
	// ScopeAdmin lets a client's access token call the admin API. A
	// client may ask for it only when it is in the client's registered
	// scopes, and it is granted only to users with the admin role.
	ScopeAdmin = "sigil:admin"
)

// Errors of the trust boundary.
var (
	// ErrInsufficientScope means a valid access token may not call what
	// it was presented to: a third-party client's token at Sigil's own
	// API, a token for another audience, or a client's token at the
	// admin API without ScopeAdmin (RFC 6750 insufficient_scope).
	ErrInsufficientScope = errors.New("insufficient scope")
	// ErrNotAdmin means the token's user does not have the admin role,
	// in the token or, read again, in the account.
	ErrNotAdmin = errors.New("the admin role is required")
	// ErrNotUser means the token names a client (client_credentials),
	// where a user's token is needed.
	ErrNotUser = errors.New("a token issued to a user is required")
	// ErrMFARequiredForRole is an ErrInvalidGrant for a refresh or code
	// exchange whose user holds a role of Config.MFARequiredRoles while
	// the sign-in behind it had no second factor.
	ErrMFARequiredForRole = fmt.Errorf("%w: the user's roles require a sign-in with a second factor", ErrInvalidGrant)
)

// ForUser reports whether the token was issued to a user (not to a
// client for itself by client_credentials, whose sub is its client id).
func (c *Claims) ForUser() bool { return c.Subject != "" && c.Subject != c.ClientID }

// HasScope reports whether the token's scope contains scope.
func (c *Claims) HasScope(scope string) bool {
	for sc := range strings.SplitSeq(c.Scope, " ") {
		if sc == scope {
			return true
		}
	}
	return false
}

// APIAccess is what a route of Sigil's own REST API asks of a token.
type APIAccess int

const (
	// AccessAccount: a user's token from Sigil's REST sign-in or from a
	// first-party client, for Sigil's audience.
	AccessAccount APIAccess = iota + 1
	// AccessAdmin: AccessAccount, a user with the admin role, and for a
	// client's token the scope ScopeAdmin.
	AccessAdmin
)

// AuthorizeAPI decides whether a verified access token may call Sigil's
// own API with access (see "Trust boundaries" in the API contract):
// tokens of Sigil's REST sign-in, or of a first-party client, for
// Sigil's audience; for the admin API also the admin role and, for a
// client's token, ScopeAdmin. ErrInsufficientScope for a third-party
// client's token, ErrInvalidToken for another audience or a client that
// no longer exists, ErrNotUser for a client's own token, ErrNotAdmin
// without the role.
func (s *Service) AuthorizeAPI(ctx context.Context, c *Claims, access APIAccess) error {
	rest := c.ClientID == s.cfg.LoginClientID
	if !rest {
		cl, err := s.clientByID(ctx, c.ClientID)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: the client no longer exists", ErrInvalidToken)
		}
		if err != nil {
			return err
		}
		if !cl.FirstParty {
			return fmt.Errorf("%w: tokens of third-party clients may not call Sigil's own API", ErrInsufficientScope)
		}
	}
	// Sigil's audience, or for a first-party client its own id (the
	// default of a client registered without one). A first-party
	// client's token for one of its resource servers is not Sigil's, nor
	// is a token for a registered resource (RFC 8707): a resource's URI
	// is never Config.Audience (CheckResource) nor a client id (a UUID).
	// TestResourceIndicatorsOnEveryGrant holds this.
	if !c.Audience.Contains(s.cfg.Audience) && (rest || !c.Audience.Contains(c.ClientID)) {
		return fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	}
	if !c.ForUser() {
		return ErrNotUser
	}
	if access == AccessAdmin {
		if !c.HasRole("admin") {
			return ErrNotAdmin
		}
		if !rest && !c.HasScope(ScopeAdmin) {
			return fmt.Errorf("%w: a client's token needs the scope %s for the admin API", ErrInsufficientScope, ScopeAdmin)
		}
		// The token's roles are those of its issue: a locked, deleted
		// or demoted administrator is refused at once, ahead of the
		// deny list.
		return s.CheckAdmin(ctx, c.Subject)
	}
	return nil
}

// ClientAudience is the aud of the access tokens issued to c: its
// registered audience, or its own id when it has none. Sigil's own
// audience (Config.Audience) goes only to first-party clients: a
// third-party client registered with it before that rule (when it was the
// default) gets its own id instead.
func (s *Service) ClientAudience(c Client) Audience {
	if c.Audience == "" || (c.Audience == s.cfg.Audience && !c.FirstParty) {
		return Audience{c.ID}
	}
	return Audience{c.Audience}
}

// validateAudience checks the audience a client is registered with.
func (s *Service) validateAudience(aud string, firstParty bool) error {
	switch {
	case len(aud) > MaxAudienceBytes:
		return invalid("audience", "must be at most 200 bytes")
	case strings.IndexFunc(aud, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		// Audiences are identifiers that resource servers compare byte
		// for byte: printable ASCII keeps look-alikes out.
		return invalid("audience", "must be printable ASCII without spaces (a name or a URI)")
	case aud == s.cfg.Audience && !firstParty:
		return invalid("audience", "is Sigil's own audience (SIGIL_AUDIENCE), which only first-party clients may have")
	}
	return nil
}

// validateClientScopes refuses ScopeAdmin to a client that is not
// first-party: its tokens could never use it, and registering it would
// only mislead.
func validateClientScopes(scopes []string, firstParty bool) error {
	if slices.Contains(scopes, ScopeAdmin) && !firstParty {
		return invalid("scopes", ScopeAdmin+" may be given only to a first-party client")
	}
	return nil
}

// GrantedScope is the scope a user's token of client c may carry of
// scope: ScopeAdmin only for a user with the admin role.
func GrantedScope(scope string, u User) string {
	if u.Admin || !strings.Contains(scope, ScopeAdmin) {
		return scope
	}
	var out []string
	for sc := range strings.SplitSeq(scope, " ") {
		if sc != ScopeAdmin && sc != "" {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

// SetUserClaims puts the user's claims in an access token issued to a
// client: a first-party client's tokens carry email and roles, as REST
// sign-in's do; a third-party client's carry email only with scope email
// and roles only with scope roles.
func SetUserClaims(c *Claims, u User, firstParty bool) {
	if firstParty || c.HasScope(ScopeEmail) {
		c.Email = u.Email
	}
	if firstParty || c.HasScope(ScopeRoles) {
		c.Roles = u.Roles()
	}
}

// MFASatisfied reports whether a sign-in that authenticated with amr is
// enough for u's roles: a user holding a role of Config.MFARequiredRoles
// needs a second factor in it.
func (s *Service) MFASatisfied(u User, amr []string) bool {
	return !s.MFARequiredFor(u) || slices.Contains(amr, "mfa")
}
