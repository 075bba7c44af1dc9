// Command go-oidc is a resource server that accepts Sigil's access tokens
// with github.com/coreos/go-oidc/v3, for services that already use it (new
// Go services can use Sigil's own verify package instead).
//
//	go run ./examples/go-oidc -issuer http://127.0.0.1:8080 -audience sigil
//
// GET /notes answers the caller's claims; DELETE /notes needs the "admin"
// role (403 otherwise); a missing or bad token gets 401.
package main
