// Package upstream is sign-in through another identity provider
// (federation): the upstreams an administrator registers (their client
// secrets sealed with the key-encryption key), the identities linked to
// Sigil accounts by (upstream, subject), the sign-ins in flight (state,
// nonce and PKCE, bound to the browser and spent once) and the linking
// rules: never two accounts with one email, automatic linking only when
// the upstream and the local account both vouch for the email, otherwise
// the existing account's password first.
//
// A connector (one package per upstream type beneath this one, such as
// upstream/oidcconn and upstream/githubconn) speaks the upstream's protocol and returns the
// identity it vouches for; the linking rules live here, never in a
// connector. The package knows no HTTP and no SQL: package web turns
// requests into calls, package store keeps the records, and a sign-in
// ends, like a passkey sign-in, in a browser session the caller opens
// with package oidc.
package upstream
