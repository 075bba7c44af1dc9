// Package oidcconn is the connector for any OpenID Provider, found by
// discovery: the authorization code flow with PKCE (S256), state and
// nonce, the ID token checked against the provider's JWKS (signature,
// iss, aud, exp, nonce) and the RFC 9207 iss parameter of the callback.
// It returns what the provider vouches for (subject, email and whether
// the provider verified it) and never decides what that identity may do:
// the linking rules are package upstream's.
package oidcconn
