package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"
)

// The admin console, served at /console/. It is a client of Sigil in two
// ways at once:
//
//   - it signs administrators in through Sigil's own OpenID Connect flow
//     (authorization code, PKCE S256) as the built-in public, first-party
//     client authority.ConsoleClientID, whose redirect URI is the issuer's
//     /console/callback;
//   - every page reads and changes state by calling the admin REST API
//     in-process with the administrator's access token, so the console has
//     no second way to change anything: the same handler checks the token
//     and the admin role, validates the input and writes the audit event
//     with the administrator's id.
//
// The console's session is a cookie holding the access token sealed with
// the key-encryption key (AEAD): HttpOnly, SameSite=Lax, valid as long as
// the token. When the token expires (or the key that signed it is
// revoked), the next page goes through the authorization endpoint again,
// which answers at once while the browser session lives.

// Sealer seals small values with the key-encryption key (keys.Sealer).
type Sealer interface {
	Seal(kid string, plaintext []byte) (string, error)
	Open(kid, sealed string) ([]byte, error)
}

// console serves the admin console.
type console struct {
	p      *Pages
	api    http.Handler
	sealer Sealer
}

// Sealing purposes, bound into the AEAD as associated data so a value
// sealed for one cannot be replayed as the other.
const (
	consoleSessionPurpose = "console-session"
	consoleFlowPurpose    = "console-flow"
)

// RegisterConsole adds the console's routes to r. api is the handler of
// the REST API, called in-process; sealer protects the console's cookies.
// With a nil sealer the console answers that it is unavailable.
func (p *Pages) RegisterConsole(r *mux.Router, api http.Handler, sealer Sealer) {
	c := &console{p: p, api: api, sealer: sealer}
	r.Handle("/console", http.RedirectHandler("/console/", http.StatusMovedPermanently)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/", c.page(c.handleOverview)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/callback", c.handleCallback).Methods(http.MethodGet)
	r.HandleFunc("/console/sign-out", c.handleSignOut).Methods(http.MethodPost)
	c.registerKeys(r)
	c.registerClients(r)
	c.registerResources(r)
	c.registerUpstreams(r)
	c.registerUsers(r)
	c.registerAudit(r)
	c.registerInspect(r)
}

// isConsolePage reports whether path belongs to the console.
func isConsolePage(path string) bool {
	return path == "/console" || strings.HasPrefix(path, "/console/")
}

// consoleRequest is a console page request of a signed-in administrator.
type consoleRequest struct {
	*http.Request
	sess consoleSession
}

// page wraps a console page: without a live console session it starts the
// sign-in (a GET comes back to the same page afterwards, a form post to
// the page it came from).
func (c *console) page(h func(w http.ResponseWriter, r consoleRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.sealer == nil {
			c.p.renderError(w, r, http.StatusServiceUnavailable, "Console unavailable",
				"The admin console needs a key-encryption key to protect its session.", "console_unavailable")
			return
		}
		sess, ok := c.session(r)
		if !ok {
			back := r.URL.RequestURI()
			if r.Method == http.MethodPost {
				back = "/console/"
			}
			c.startSignIn(w, r, back)
			return
		}
		if r.Method == http.MethodPost {
			if err := parsePost(w, r); err != nil {
				c.p.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", "invalid_request")
				return
			}
			if !c.p.checkCSRF(r) {
				c.p.refuseCSRF(w, r)
				return
			}
		}
		h(w, consoleRequest{Request: r, sess: sess})
	}
}

// consoleNav is what the navigation of every console page shows.
type consoleNav struct {
	Email   string
	Section string
}

// render shows a console page.
func (c *console) render(w http.ResponseWriter, r consoleRequest, status int, name, section string, v view) {
	v.Wide = true
	v.Styles = []string{"/static/console.css"}
	if v.Data == nil {
		v.Data = map[string]any{}
	}
	v.Data["Nav"] = consoleNav{Email: r.sess.Email, Section: section}
	c.p.render(w, r.Request, status, name, v)
}

// done redirects after a successful form post to page with a notice code
// (Post/Redirect/Get, so a reload does not post again).
func done(w http.ResponseWriter, r *http.Request, page, code string) {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	http.Redirect(w, r, page+sep+"done="+url.QueryEscape(code), http.StatusSeeOther)
}
