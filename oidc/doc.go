// Package oidc is Sigil's OpenID Connect flow, the browser side of
// signing users in to applications: authorization requests and the
// decision of the next step (sign-in, second factor, consent, code),
// the sealed tickets that bind a hosted step to the request it was shown
// for, browser sessions (the hosted pages' single sign-on), authorization
// codes and their exchange, consent, ID tokens, userinfo, the
// id_token_hint of logout, registered resources (RFC 8707), clients
// that register themselves (RFC 7591, with RFC 7592 read and delete)
// with the initial access tokens that let them, and the device
// authorization grant (RFC 8628: device and user codes, the
// confirmation's decision, polling and its pace).
//
// It asks the core (package authority) for everything it does not own:
// checking passwords and second factors, signing access tokens, refresh
// families, clients, the deny list and the audit log; and it keeps its
// own records through the Store it declares, which package store
// satisfies.
//
// It never speaks HTTP (package web and package api translate requests
// to its calls) and never touches SQL.
package oidc
