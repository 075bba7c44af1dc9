// Package githubconn is the connector for GitHub (github.com or a GitHub
// Enterprise Server), which is an OAuth 2.0 server and not an OpenID
// Provider: the authorization code flow of an OAuth app with PKCE (S256)
// and state, the code redeemed at /login/oauth/access_token, then the
// user (GET /user: its numeric id is the subject) and its email
// addresses (GET /user/emails: the primary one, verified or not as
// GitHub says) read from the REST API with the access token.
//
// GitHub issues no ID token and takes no nonce: the state (spent once,
// bound to the browser) and the PKCE verifier (the browser's cookie)
// carry the binding of the callback to the sign-in that started it.
// GitHub sends no RFC 9207 iss; one that is sent must be the web base.
//
// GitHub cannot be asked for a new sign-in (no prompt=login, no
// max_age) and does not say when the user signed in (no auth_time): a
// re-authentication through GitHub is answered by GitHub's session
// when the browser has one. docs/upstreams.md says so.
//
// It returns what GitHub vouches for and never decides what that
// identity may do: the linking rules are package upstream's.
package githubconn
