// Package account is Sigil's account self-service: the single-use links
// mailed to verify an email, to confirm a new one and to reset a
// password (made, checked, spent, cancelled by a password change), the
// changes a signed-in user makes to their own account (password, email,
// deletion), the list of their sessions and ending them, and the limit
// on mail a client can make Sigil send to one address.
//
// The core (package authority) declares EmailVerifier for the two mails
// it must have sent (a verification link after a sign-up or a login
// refused for an unverified email, and the notice of a sign-up with a
// registered email); New sets a Service as it, so the core never
// imports this package. This package asks the core for what it does not
// own: checking and hashing passwords, ending a user's sessions and
// denying their tokens, deleting accounts, mail and the audit log. Its
// records are kept through the Store it declares, which package store
// satisfies.
//
// It never speaks HTTP (package api and package web translate requests
// to its calls), never touches SQL, and never builds a link from a
// request: every link starts with the configured issuer.
package account
