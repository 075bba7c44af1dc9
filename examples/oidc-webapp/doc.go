// Command oidc-webapp is a minimal web application that signs its users in
// through Sigil with OpenID Connect: the authorization code flow with PKCE
// (golang.org/x/oauth2), the ID token verified from discovery and the JWKS
// (github.com/coreos/go-oidc/v3), a session cookie of its own, and
// RP-initiated logout.
//
//	go run ./examples/oidc-webapp -issuer http://localhost:8080 -client-id ID -client-secret SECRET
//
// Register it first with redirect URI http://127.0.0.1:5555/callback and
// post-logout redirect URI http://127.0.0.1:5555/ (see README.md).
package main
