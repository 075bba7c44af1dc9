package web

// PageAccess is the kind of caller a page route serves. The pages' access
// is declared here, beside their registration, so that the "Who may call
// what" table of docs/security.md covers them; the api package's test
// walks the router and refuses a page route without a row here.
type PageAccess int

const (
	// PagePublic: anyone; a browser session, if any, only pre-fills or
	// redirects (sign-in, sign-up, the mailed links' pages, assets).
	PagePublic PageAccess = iota + 1
	// PageSignInStep: the step of a sign-in in progress: a correct
	// password's step token (second factor, forced enrolment) or a
	// passkey ceremony; no browser session yet.
	PageSignInStep
	// PageAuthorize: an authorization request, re-validated on every
	// post; needs a browser session to issue a code (else the sign-in
	// page).
	PageAuthorize
	// PageSession: the user's own browser session (the account page and
	// its forms); without one, the sign-in page.
	PageSession
	// PageConsole: the console's session: an administrator signed in
	// through the console's own client, whose token carries sigil:admin
	// and is checked by the admin API on every call.
	PageConsole
)

// String describes the access in the docs' table.
func (a PageAccess) String() string {
	switch a {
	case PagePublic:
		return "public page"
	case PageSignInStep:
		return "sign-in step in progress"
	case PageAuthorize:
		return "authorization request (browser session to issue a code)"
	case PageSession:
		return "browser session"
	case PageConsole:
		return "console session (administrator, sigil:admin)"
	}
	return "undeclared"
}

// pageAccess declares every page route, by "METHOD /path" ("GET" stands
// for GET and HEAD).
var pageAccess = map[string]PageAccess{
	"GET /":                               PagePublic,
	"GET /login":                          PagePublic,
	"POST /login":                         PagePublic,
	"POST /login/mfa":                     PageSignInStep,
	"POST /login/mfa/enroll":              PageSignInStep,
	"POST /login/passkey/begin":           PageSignInStep,
	"POST /login/passkey":                 PageSignInStep,
	"POST /login/upstream":                PagePublic,
	"GET /login/upstream/{id}/callback":   PageSignInStep,
	"POST /login/upstream/link":           PageSignInStep,
	"GET /signup":                         PagePublic,
	"POST /signup":                        PagePublic,
	"GET /verify-email":                   PagePublic,
	"POST /verify-email":                  PagePublic,
	"GET /forgot-password":                PagePublic,
	"POST /forgot-password":               PagePublic,
	"GET /reset-password":                 PagePublic,
	"POST /reset-password":                PagePublic,
	"GET /setup":                          PagePublic,
	"POST /setup":                         PagePublic,
	"GET /static/":                        PagePublic,
	"GET /oauth2/authorize":               PageAuthorize,
	"POST /oauth2/authorize":              PageAuthorize,
	"POST /consent":                       PageAuthorize,
	"GET /device":                         PagePublic,
	"POST /device":                        PagePublic,
	"POST /device/confirm":                PageSession,
	"GET /oauth2/logout":                  PageSession,
	"POST /oauth2/logout":                 PageSession,
	"GET /account":                        PageSession,
	"POST /account/consents/revoke":       PageSession,
	"POST /account/password":              PageSession,
	"POST /account/sessions/revoke":       PageSession,
	"POST /account/delete":                PageSession,
	"POST /account/mfa/totp":              PageSession,
	"POST /account/mfa/totp/confirm":      PageSession,
	"POST /account/mfa/totp/remove":       PageSession,
	"POST /account/mfa/recovery-codes":    PageSession,
	"POST /account/passkeys/begin":        PageSession,
	"POST /account/passkeys/add":          PageSession,
	"POST /account/passkeys/rename":       PageSession,
	"POST /account/passkeys/remove":       PageSession,
	"POST /account/verify-email/resend":   PageSession,
	"POST /account/upstreams/link":        PageSession,
	"POST /account/upstreams/unlink":      PageSession,
	"GET /console":                        PagePublic,
	"GET /console/callback":               PagePublic,
	"POST /console/sign-out":              PagePublic,
	"GET /console/":                       PageConsole,
	"GET /console/audit":                  PageConsole,
	"GET /console/clients":                PageConsole,
	"POST /console/clients":               PageConsole,
	"POST /console/clients/{id}/secret":   PageConsole,
	"POST /console/clients/{id}/delete":   PageConsole,
	"GET /console/resources":              PageConsole,
	"POST /console/resources":             PageConsole,
	"POST /console/resources/{id}/delete": PageConsole,
	"GET /console/upstreams":              PageConsole,
	"POST /console/upstreams":             PageConsole,
	"GET /console/upstreams/{id}":         PageConsole,
	"POST /console/upstreams/{id}":        PageConsole,
	"GET /console/upstreams/{id}/delete":  PageConsole,
	"POST /console/upstreams/{id}/delete": PageConsole,
	"GET /console/inspect":                PageConsole,
	"POST /console/inspect":               PageConsole,
	"GET /console/keys":                   PageConsole,
	"POST /console/keys/rotate":           PageConsole,
	"GET /console/keys/{kid}/revoke":      PageConsole,
	"POST /console/keys/{kid}/revoke":     PageConsole,
	"GET /console/users":                  PageConsole,
	"GET /console/users/{id}":             PageConsole,
}

// Access returns the declared access of the page route method path
// (HEAD as GET), and whether there is one. Console user actions
// (/console/users/{id}/ACTION) are console pages.
func Access(method, path string) (PageAccess, bool) {
	if method == "HEAD" {
		method = "GET"
	}
	if a, ok := pageAccess[method+" "+path]; ok {
		return a, true
	}
	if method == "POST" && consoleUserAction(path) {
		return PageConsole, true
	}
	return 0, false
}

// consoleUserAction reports whether path is a console action on a user.
func consoleUserAction(path string) bool {
	const prefix = "/console/users/{id}/"
	if len(path) <= len(prefix) || path[:len(prefix)] != prefix {
		return false
	}
	for _, a := range userActions {
		if path[len(prefix):] == a {
			return true
		}
	}
	return false
}
