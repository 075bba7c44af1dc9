// Command rs is the resource server of bench/verify-compare.sh: one
// protected handler (GET /protected, 200 with the token's subject) behind
// the verifier that -mode names, so the load generator can compare them
// on the same machine:
//
//   - verify: Sigil's verify middleware (discovery, JWKS cache).
//   - gojose: a hand-written go-jose check: jwt.ParseSigned, the key found
//     by kid in the JWKS fetched once at start, Claims, then iss, aud, exp,
//     nbf and iat.
//   - gooidc: coreos/go-oidc's IDTokenVerifier on a RemoteKeySet, the
//     audience checked as its client ID.
//
// It listens on 127.0.0.1 only and prints "listening on http://ADDR". It
// is a benchmark peer: it never issues tokens and keeps no state beyond
// its key cache.
package main
