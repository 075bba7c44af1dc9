// Command mcp-server is a Model Context Protocol server (the official Go
// SDK, streamable HTTP) whose tools only agents holding a Sigil access
// token for it may call. Package verify checks the tokens with Sigil's
// JWKS, serves the server's protected resource metadata (RFC 9728) and
// names it in every 401, so an MCP client given only the server's URL
// finds Sigil, gets a token for this resource (RFC 8707) and connects.
//
//	go run ./examples/mcp-server -issuer http://localhost:8080 -resource http://127.0.0.1:8090/mcp
//
// Register the resource at Sigil first (sigil resources create, or
// POST /admin/resources); see README.md.
package main
