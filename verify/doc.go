// Package verify checks Sigil access tokens in resource servers.
//
// A [Verifier] finds the authority's published keys through OpenID
// discovery, caches them in memory and verifies compact JWS access tokens
// (RFC 9068) against them: RS256, EdDSA (Ed25519) and ES256, as Sigil signs,
// and the other RSA and ECDSA algorithms. Each key verifies only under the
// algorithm it is published for. The package needs no shared secret and no
// database: it imports only go-jose and the standard library.
//
//	v, err := verify.New(ctx, "https://sigil.example.com", verify.WithAudience("sigil"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle("GET /posts", v.Middleware(listPosts))
//	mux.Handle("DELETE /posts/{id}", v.Middleware(verify.RequireRole("admin")(deletePost)))
//
// Inside a handler behind the middleware, [ClaimsFromContext] returns the
// token's claims. Outside HTTP, [Verifier.Verify] checks a token directly.
//
// # Key cache
//
// The key set is refreshed when its Cache-Control max-age runs out (clamped
// to [WithMinRefreshInterval], 5 s by default, and [WithMaxRefreshInterval]),
// revalidated with If-None-Match. A token signed with a key the Verifier has not seen
// yet, as after a key rotation, makes it fetch the key set at once, at most
// once per [WithUnknownKidInterval]; concurrent verifications share that one
// request. When the authority cannot be reached, the cached keys keep
// verifying tokens for up to [WithMaxKeySetAge] (24 h by default) since the
// last successful fetch, then every token is refused until a fetch
// succeeds; a token with an unknown key is rejected without waiting longer
// than its caller's context allows.
//
// # Protected resource metadata
//
// A resource server that clients discover on their own (an MCP server
// an agent connects to, say) names itself with [WithResource]: its
// resource identifier, which clients pass to Sigil as the resource
// parameter (RFC 8707) and which Sigil puts in the token's aud. The
// Verifier then accepts that audience, serves the resource's RFC 9728
// metadata through [Verifier.ResourceMetadataHandler] at
// [Verifier.ResourceMetadataPath], and its middleware's challenges carry
// resource_metadata, so a client that only has the resource's URL finds
// the authorization server from the first 401.
package verify
