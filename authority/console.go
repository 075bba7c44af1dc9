package authority

import "context"

// ConsoleClientID is the client_id of the admin console's built-in
// client: public (PKCE, no secret), first-party (no consent page), with
// the authorization code grant only and the scope sigil:admin, which its
// administrators' tokens need at the admin API.
const ConsoleClientID = "sigil-console"

// BuiltinClientStore keeps the clients Sigil defines itself.
type BuiltinClientStore interface {
	// PutClient creates the client or replaces every field of the
	// existing one but its creation time.
	PutClient(ctx context.Context, c Client) error
}

// EnsureConsoleClient creates the console's client, or brings it up to
// date, with redirectURI (the issuer's /console/callback) as its only
// redirect URI. The URI comes from SIGIL_ISSUER, which the operator
// chose, so it is not held to the rules of registered clients (an http
// issuer on a private host name is a legitimate set-up).
func (s *Service) EnsureConsoleClient(ctx context.Context, redirectURI string) error {
	c := Client{ID: ConsoleClientID, Name: "Sigil admin console", Scopes: []string{ScopeAdmin}, Audience: s.cfg.Audience,
		CreatedAt: s.now().UTC(), RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{},
		GrantTypes: []string{GrantAuthorizationCode}, Public: true, FirstParty: true}
	return s.store.PutClient(ctx, c)
}

// builtinClient refuses changes to the console's client through the
// client administration, which would lock administrators out of the
// console until the next start.
func builtinClient(id string) error {
	if id == ConsoleClientID {
		return invalid("clientId", "is Sigil's built-in console client, kept by Sigil itself")
	}
	return nil
}
