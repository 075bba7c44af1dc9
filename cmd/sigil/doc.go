// Command sigil is the Sigil token authority: it logs users in, signs
// short-lived JWT access tokens with keys it keeps sealed in its database
// and rotates, and publishes the public keys at /.well-known/jwks.json.
//
//	sigil [serve]                 run the authority (the default)
//	sigil migrate                 apply database migrations
//	sigil keys list|rotate|revoke KID|rewrap
//	sigil users create --email E [--admin] [--password-stdin]
//	sigil users import FILE
//	sigil users list [--email Q] | show ID | lock ID | unlock ID | set-roles ID ROLE,… | delete ID
//	sigil clients create --name N --audience A [--scopes "a b"] | list | delete ID
//	sigil version | --version     print the version and the RSA signing backend
//
// Every subcommand takes the same configuration as serve, from SIGIL_*
// environment variables or the matching flags; `sigil CMD --help` lists them.
package main
