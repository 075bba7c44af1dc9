package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// resourcePath is what the resource scenario asks the resource server for
// (bench/rs and bench/peers/node-jose serve it behind their verifier).
const resourcePath = "/protected"

// The scenarios of this file are not part of "all": resource needs a
// resource server (-resource), register a Sigil with open registration.
func init() {
	scenarios["resource"] = scenario{http.StatusOK, prepareResource}
	scenarios["register"] = scenario{http.StatusCreated, prepareRegister}
	extraScenarios = append(extraScenarios, "resource", "register")
}

// prepareResource loads a resource server, not the Sigil: GET
// resourcePath on -resource with the load user's access token as a
// bearer token, 200 expected. The resource server verifies the token
// against the Sigil's published keys; the Sigil is not asked again.
func prepareResource(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	if l.resource == "" {
		return nil, errors.New("needs -resource HOST:PORT (a resource server that trusts this Sigil)")
	}
	t, err := resolveTarget(ctx, l.resource, systemLookup)
	if err != nil {
		return nil, err
	}
	rs := &loader{base: t.base, client: t.client(conc)}
	hdr := http.Header{"Authorization": {"Bearer " + l.accessToken}}
	do := func(ctx context.Context) (int, error) {
		return rs.call(ctx, http.MethodGet, resourcePath, "", nil, hdr, nil)
	}
	// A token the resource server refuses fails the set-up: every
	// answer of the run would be an error.
	st, err := do(ctx)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("probe GET %s%s: status %d (does it trust this Sigil's issuer and audience?)", t.base, resourcePath, st)
	}
	return func(int) request { return do }, nil
}

// registerBody is the metadata of the register scenario: a public client
// of a native app, as an MCP host registers itself.
var registerBody = []byte(`{"client_name":"sigil-load","redirect_uris":["http://127.0.0.1/callback"],` +
	`"grant_types":["authorization_code"],"token_endpoint_auth_method":"none"}`)

// prepareRegister is dynamic client registration (RFC 7591): POST
// /oauth2/register, 201 expected. Sigil limits it per address
// (SIGIL_REGISTRATION_RATE_LIMIT), so from one address most answers of a
// flood are 429: refused, not errors. It needs SIGIL_REGISTRATION=open.
func prepareRegister(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	do := func(ctx context.Context) (int, error) {
		return l.call(ctx, http.MethodPost, "/oauth2/register", "application/json", registerBody, nil, nil)
	}
	st, err := do(ctx)
	switch {
	case err != nil:
		return nil, err
	case st == http.StatusNotFound:
		return nil, errors.New("POST /oauth2/register: 404: start the Sigil with SIGIL_REGISTRATION=open")
	case st != http.StatusCreated && st != http.StatusTooManyRequests:
		return nil, fmt.Errorf("probe POST /oauth2/register: status %d", st)
	}
	return func(int) request { return do }, nil
}
