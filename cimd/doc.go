// Package cimd resolves client ID metadata documents (the OAuth client
// registration that the MCP authorization spec prefers): a client whose
// client_id is an https URL is described by the JSON document served at
// that URL. With SIGIL_CIMD=on, the core asks this package (through
// authority.ClientDocuments) for such a client wherever it looks a
// client up.
//
// Fetching a URL a stranger chose is a server-side request forgery
// risk, so the fetch is narrow: https only, to public addresses only
// (the address is checked when the connection is made, after DNS, so a
// name that resolves to a private, loopback or link-local address is
// refused), no redirects followed, 5 seconds, 5 KiB. Documents are
// cached by their Cache-Control max-age (at most 24 hours, at least a
// minute); failures are remembered for a short while, so a client_id
// cannot make Sigil fetch at the rate of a client's requests.
//
// A document's client is public (token_endpoint_auth_method none, PKCE
// always), third-party (consent always, never remembered), limited to
// the authorization code and refresh token grants and to scopes a
// third-party client may have. It is never stored.
//
// It never decides anything about tokens or sign-in; it only says which
// client a URL describes.
package cimd
