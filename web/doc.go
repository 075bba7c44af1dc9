// Package web serves Sigil's hosted pages: sign-in, sign-up, consent,
// logout and the user's account page, the browser side of the OpenID
// Connect authorization code flow (/oauth2/authorize, /oauth2/logout),
// and the device grant's code entry and confirmation (/device).
//
// Pages are server-rendered html/template files embedded in the binary and
// overridable one by one from a directory (SIGIL_TEMPLATE_DIR). They need
// no JavaScript, except for passkeys: the sign-in, second-factor and
// account pages load /static/passkey.js (embedded, served from 'self',
// the only script the CSP allows) to run the WebAuthn ceremonies, and
// without it those pages work as before with passwords and codes. Every answer carries a strict Content-Security-Policy
// (frame-ancestors 'none'), every form a CSRF token checked against a
// cookie, and the browser session lives in an HttpOnly, SameSite=Lax
// cookie whose value the database keeps only hashed.
//
// The package holds no protocol rule and no SQL: it translates HTTP to
// calls of the authority package and results to pages and redirects.
package web
