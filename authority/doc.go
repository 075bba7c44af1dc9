// Package authority is the core of Sigil's domain: accounts and
// passwords (argon2id under admission control, the per-account throttle
// and lockout), access tokens (signing, verification, the deny list of
// revoked ones), refresh-token families, OAuth clients and their
// authentication, what a token may do at Sigil's own API, administrators'
// operations on users, and the audit log.
//
// The concerns built on it live in packages of their own: the OpenID
// Connect flow (oidc), second factors (mfa), account self-service
// (account), token inspection (inspect). Where the core must ask one of
// them, it declares the small interface it needs (SecondFactorGate,
// EmailVerifier) and the concern sets itself, so the core imports none of
// them. Its storage is the small interfaces of Store, which package store
// satisfies.
//
// It never touches SQL or HTTP, never builds a link from a request, and
// never logs or returns a secret (passwords, refresh tokens, client
// secrets are hashed before they are stored).
package authority
