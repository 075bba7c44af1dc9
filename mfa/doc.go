// Package mfa is Sigil's second factors: TOTP authenticators (RFC 6238)
// with their recovery codes, passkeys and security keys (WebAuthn), the
// step of a sign-in that needs one (the tokens that carry a sign-in from
// its password to its second factor), the enrolment that
// SIGIL_MFA_REQUIRED_ROLES demands, and the notices mailed when a factor
// is added or removed.
//
// The core (package authority) declares SecondFactorGate and asks it
// after every correct password; New sets a Service as that gate, so the
// core never imports this package. The other way round, this package
// asks the core for what it does not own: checking passwords, the
// per-account throttle, issuing tokens, mail and the audit log. Its
// records are kept through the Store it declares, which package store
// satisfies; TOTP secrets are sealed with the key-encryption keys.
//
// It never speaks HTTP (package api and package web translate requests
// to its calls), never touches SQL, and never decides what a token may
// do: whether a sign-in is strong enough for a role or a client is the
// core's (authority.Service.MFASatisfied).
package mfa
