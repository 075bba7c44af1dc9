package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
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
	c.registerUsers(r)
	c.registerAudit(r)
	c.registerInspect(r)
}

// isConsolePage reports whether path belongs to the console.
func isConsolePage(path string) bool {
	return path == "/console" || strings.HasPrefix(path, "/console/")
}

// consoleSession is what the session cookie holds, sealed.
type consoleSession struct {
	Token   string `json:"t"`
	Email   string `json:"e"`
	Expires int64  `json:"x"`
}

// consoleFlow is a sign-in in progress: the state and PKCE verifier sent
// with the authorization request, and where to go afterwards.
type consoleFlow struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Return   string `json:"r"`
}

func (c *console) sessionCookie() string {
	if c.p.secure {
		return "__Host-sigil_console"
	}
	return "sigil_console"
}

func (c *console) flowCookie() string {
	if c.p.secure {
		return "__Host-sigil_console_flow"
	}
	return "sigil_console_flow"
}

func (c *console) redirectURI() string {
	return strings.TrimRight(c.p.cfg.Issuer, "/") + "/console/callback"
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

// session returns the request's console session when its cookie opens,
// its token still verifies and its administrator is still one.
func (c *console) session(r *http.Request) (consoleSession, bool) {
	var s consoleSession
	ck, err := r.Cookie(c.sessionCookie())
	if err != nil || !c.open(consoleSessionPurpose, ck.Value, &s) {
		return consoleSession{}, false
	}
	if s.Token == "" || time.Now().Unix() >= s.Expires {
		return consoleSession{}, false
	}
	// The token may have stopped verifying before it expires (its key or
	// its jti revoked), or its administrator be locked, deleted or
	// demoted (read again on every page): then the session is over.
	if c.p.auth != nil {
		claims, err := c.p.auth.Verify(r.Context(), s.Token, "")
		if err == nil {
			err = c.p.auth.CheckAdmin(r.Context(), claims.Subject)
		}
		if errors.Is(err, authority.ErrInvalidToken) || errors.Is(err, authority.ErrNotAdmin) {
			return consoleSession{}, false
		}
	}
	return s, true
}

func (c *console) seal(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return c.sealer.Seal(purpose, b)
}

func (c *console) open(purpose, sealed string, v any) bool {
	if len(sealed) > 4096 {
		return false
	}
	b, err := c.sealer.Open(purpose, sealed)
	return err == nil && json.Unmarshal(b, v) == nil
}

func (c *console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		Secure: c.p.secure, SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// startSignIn sends the browser to the authorization endpoint as the
// console's client, with a fresh state and PKCE S256 challenge kept in a
// sealed ten-minute cookie.
func (c *console) startSignIn(w http.ResponseWriter, r *http.Request, back string) {
	flow := consoleFlow{State: randomToken(), Verifier: randomToken(), Return: safeReturn(back)}
	sealed, err := c.seal(consoleFlowPurpose, flow)
	if err != nil {
		c.p.renderFailure(w, r, err)
		return
	}
	c.setCookie(w, c.flowCookie(), sealed, 600)
	sum := sha256.Sum256([]byte(flow.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {authority.ConsoleClientID},
		"redirect_uri":          {c.redirectURI()},
		"scope":                 {"openid " + authority.ScopeAdmin},
		"state":                 {flow.State},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		// An administrator with a second factor signs in with it, even
		// in a browser session that began with the password alone; one
		// without goes on (acr_values asks, it does not demand).
		"acr_values": {authority.ACRMFA},
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, strings.TrimRight(c.p.cfg.Issuer, "/")+"/oauth2/authorize?"+q.Encode(), http.StatusSeeOther)
}

// safeReturn keeps a post-sign-in destination inside the console.
func safeReturn(back string) string {
	if !strings.HasPrefix(back, "/console/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		return "/console/"
	}
	return back
}

// handleCallback completes the sign-in: it checks iss and state, redeems
// the code with the PKCE verifier at the token endpoint, and opens a
// console session for an administrator. Anyone else is refused with a
// page that says why, and gets no session.
func (c *console) handleCallback(w http.ResponseWriter, r *http.Request) {
	if c.sealer == nil {
		c.p.renderError(w, r, http.StatusServiceUnavailable, "Console unavailable",
			"The admin console needs a key-encryption key to protect its session.", "console_unavailable")
		return
	}
	q := r.URL.Query()
	var flow consoleFlow
	ck, err := r.Cookie(c.flowCookie())
	if err != nil || !c.open(consoleFlowPurpose, ck.Value, &flow) {
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in expired",
			"This sign-in to the console was not started in this browser or took longer than ten minutes. Open /console/ to start again.", "invalid_state")
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 {
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in could not be completed",
			"The answer of the authorization server does not belong to the sign-in this browser started. Open /console/ to start again.", "invalid_state")
		return
	}
	c.setCookie(w, c.flowCookie(), "", -1)
	if iss := q.Get("iss"); iss != c.p.cfg.Issuer {
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in could not be completed",
			"The answer came from another issuer than this Sigil.", "invalid_issuer")
		return
	}
	if e := q.Get("error"); e != "" {
		c.p.renderError(w, r, http.StatusForbidden, "Sign-in was not completed", q.Get("error_description"), e)
		return
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {c.redirectURI()},
		"code_verifier": {flow.Verifier}, "client_id": {authority.ConsoleClientID}}
	ans := c.call(r, "", http.MethodPost, "/oauth2/token", "application/x-www-form-urlencoded", []byte(form.Encode()))
	var tok struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(ans.body, &tok)
	if ans.status != http.StatusOK || tok.AccessToken == "" {
		if ans.status >= 500 {
			c.p.renderError(w, r, http.StatusServiceUnavailable, "Temporarily unavailable", "The token endpoint did not answer. Try again in a few seconds.", "temporarily_unavailable")
			return
		}
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in could not be completed", tok.ErrorDescription, tok.Error)
		return
	}
	me := c.call(r, tok.AccessToken, http.MethodGet, "/auth/me", "", nil)
	var who struct {
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	if me.status != http.StatusOK || json.Unmarshal(me.body, &who) != nil {
		c.p.renderError(w, r, http.StatusBadGateway, "Sign-in could not be completed", "The signed-in account could not be read.", "server_error")
		return
	}
	if !slices.Contains(who.Roles, "admin") {
		c.refuse(w, r, who.Email)
		return
	}
	sess := consoleSession{Token: tok.AccessToken, Email: who.Email, Expires: time.Now().Unix() + tok.ExpiresIn}
	sealed, err := c.seal(consoleSessionPurpose, sess)
	if err != nil {
		c.p.renderFailure(w, r, err)
		return
	}
	c.setCookie(w, c.sessionCookie(), sealed, int(tok.ExpiresIn))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, flow.Return, http.StatusSeeOther)
}

// refuse tells a signed-in user without the admin role that the console
// is not for them, and how to sign in as someone else.
func (c *console) refuse(w http.ResponseWriter, r *http.Request, email string) {
	c.setCookie(w, c.sessionCookie(), "", -1)
	c.p.render(w, r, http.StatusForbidden, "console_refused", view{Email: email})
}

// handleSignOut ends the console session and hands over to the logout
// page, which ends the browser session too.
func (c *console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if err := parsePost(w, r); err != nil {
		c.p.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", "invalid_request")
		return
	}
	if !c.p.checkCSRF(r) {
		c.p.refuseCSRF(w, r)
		return
	}
	c.setCookie(w, c.sessionCookie(), "", -1)
	http.Redirect(w, r, "/oauth2/logout?client_id="+authority.ConsoleClientID, http.StatusSeeOther)
}

// apiAnswer is what the in-process REST API answered.
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

// problem returns the detail of a problem+json answer (its title when it
// has no detail).
func (a apiAnswer) problem() string {
	var p struct{ Title, Detail string }
	if json.Unmarshal(a.body, &p) != nil {
		return http.StatusText(a.status)
	}
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// recorder collects an in-process answer.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}

// callHeaders are the outer request's headers that the inner call keeps:
// the client address headers a trusted proxy sets (for the audit log) and
// the user agent. Cookies and credentials never pass.
var callHeaders = []string{"User-Agent", "X-Forwarded-For", "X-Real-Ip", "Forwarded", "True-Client-Ip", "Cf-Connecting-Ip"}

// call sends one request to the REST API in-process, as the administrator
// whose access token is token ("" for none), from the outer request's
// client address.
func (c *console) call(r *http.Request, token, method, path, ctype string, body []byte) apiAnswer {
	in, err := http.NewRequestWithContext(r.Context(), method, path, bytes.NewReader(body))
	if err != nil {
		return apiAnswer{status: http.StatusInternalServerError}
	}
	in.RemoteAddr = r.RemoteAddr
	in.Host = r.Host
	for _, h := range callHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			in.Header[h] = v
		}
	}
	if ctype != "" {
		in.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		in.Header.Set("Authorization", "Bearer "+token)
	}
	rec := &recorder{h: http.Header{}}
	c.api.ServeHTTP(rec, in)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return apiAnswer{status: rec.status, header: rec.h, body: rec.buf.Bytes()}
}

// admin calls the admin API as the signed-in administrator, with a JSON
// body when in is not nil.
func (c *console) admin(r consoleRequest, method, path string, in any) apiAnswer {
	var body []byte
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return apiAnswer{status: http.StatusInternalServerError}
		}
		body, ctype = b, "application/json"
	}
	return c.call(r.Request, r.sess.Token, method, path, ctype, body)
}

// get reads an admin API resource into out. When the answer is not 200 it
// answers the page itself (a new sign-in for 401, the refusal for 403, an
// error page otherwise) and returns false.
func (c *console) get(w http.ResponseWriter, r consoleRequest, path string, out any) bool {
	a := c.admin(r, http.MethodGet, path, nil)
	if a.status == http.StatusOK {
		if err := json.NewDecoder(bytes.NewReader(a.body)).Decode(out); err != nil {
			c.p.renderFailure(w, r.Request, err)
			return false
		}
		return true
	}
	c.failed(w, r, a)
	return false
}

// failed answers a page whose API call was refused: 401 (the token
// expired or its key was revoked) signs in again and comes back, 403
// shows the refusal, 404 a not-found page, anything else an error page.
func (c *console) failed(w http.ResponseWriter, r consoleRequest, a apiAnswer) {
	switch a.status {
	case http.StatusUnauthorized:
		back := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			back = "/console/"
		}
		c.setCookie(w, c.sessionCookie(), "", -1)
		c.startSignIn(w, r.Request, back)
	case http.StatusForbidden:
		c.refuse(w, r.Request, r.sess.Email)
	case http.StatusNotFound:
		c.p.renderError(w, r.Request, http.StatusNotFound, "Not found", a.problem(), "not_found")
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "5")
		c.p.renderError(w, r.Request, http.StatusServiceUnavailable, "Temporarily unavailable", a.problem(), "temporarily_unavailable")
	default:
		status := a.status
		if status < 400 {
			status = http.StatusBadGateway
		}
		c.p.renderError(w, r.Request, status, "The request failed", a.problem(), "admin_api")
	}
}

// jsonInto decodes an answer's body, reporting whether it could.
func jsonInto(b []byte, v any) bool { return json.Unmarshal(b, v) == nil }

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
