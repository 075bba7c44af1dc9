// Package api is Sigil's HTTP interface: gorilla/mux routes, handlers,
// middleware and the mapping of domain errors to problem+json answers. It
// knows HTTP and the domain packages, and nothing about SQL.
//
// Every route declares who may call it where it is registered (api/access.go);
// handlers decode, call the domain, encode, and errors.go is the one place
// a domain error becomes a status. It never reads the store, signs a token
// or checks a password itself.
package api
