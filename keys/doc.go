// Package keys generates, seals and publishes Sigil's signing keys.
//
// It owns key generation (RS256, EdDSA, ES256), the public halves as JWKs
// and the JWKS document, sealing private halves at rest under
// key-encryption keys, the keyring the signer and the JWKS handler read,
// and the rotation policy.
//
// A signing key is kept as a Record: the public half as a JWK, the private
// half sealed under a key-encryption key (see Sealer). The Ring holds an
// immutable Snapshot of the published keys and the active signer, swapped
// atomically when the key set changes, and the Manager drives the key
// lifecycle (pending → active → retired → removed, or revoked) through a
// Store that runs every change as one locked transaction.
//
// It never speaks HTTP, writes SQL or imports a database driver: it
// declares the small Store interface it needs (ListKeys, UpdateKeys),
// which package store satisfies, and api serves the JWKS a Snapshot has
// already encoded.
package keys
