package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// handleAuthorize is the authorization endpoint (GET or POST). A request
// whose client or redirect URI cannot be trusted gets an error page;
// every other error goes back to the client. A signed-in browser gets a
// code at once (single sign-on) unless prompt or max_age asks for a fresh
// sign-in, or the user still has to consent.
func (p *Pages) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := parsePost(w, r); err != nil {
			p.renderError(w, r, http.StatusBadRequest, "Bad request", "The authorization request could not be read.", "invalid_request")
			return
		}
		q = r.PostForm
	}
	req, client, err := p.oidc.ParseAuthorize(r.Context(), q)
	if err != nil {
		p.renderAuthorizeError(w, r, err)
		return
	}
	sess, u, err := p.session(r)
	var current *oidc.BrowserSession
	switch {
	case err == nil:
		current = &sess
	case !noSession(err):
		p.renderFailure(w, r, err)
		return
	}
	authz := canonicalAuthz(q)
	p.authorizeStep(w, r, authz, req, client, current, u, false)
}

// continueAuthorization goes on with an authorization request carried
// through a form (sign-in, sign-up) once the user is signed in.
func (p *Pages) continueAuthorization(w http.ResponseWriter, r *http.Request, authz string, sess oidc.BrowserSession, u authority.User, fresh bool) {
	if id, ok := oidc.DeviceAuthzID(authz); ok {
		p.continueDevice(w, r, id, sess, u)
		return
	}
	req, client, err := p.parseAuthz(r, authz)
	if err != nil {
		p.renderAuthorizeError(w, r, err)
		return
	}
	p.authorizeStep(w, r, authz, req, client, &sess, u, fresh)
}

// authorizeStep shows the page the request needs next, or issues the code.
func (p *Pages) authorizeStep(w http.ResponseWriter, r *http.Request, authz string, req oidc.AuthorizeRequest, client authority.Client, sess *oidc.BrowserSession, u authority.User, fresh bool) {
	step, err := p.oidc.NextStep(r.Context(), req, client, sess, fresh)
	if err != nil {
		p.renderAuthorizeError(w, r, err)
		return
	}
	target := formOrigin(req.RedirectURI)
	switch step {
	case oidc.StepLogin:
		p.hooks.Authorize("login_page")
		email := req.LoginHint
		if sess != nil && email == "" {
			email = u.Email
		}
		p.render(w, r, http.StatusOK, "login", view{Authz: authz, ClientName: client.Name, Email: email}, target)
	case oidc.StepConsent:
		p.renderConsent(w, r, authz, req, client, *sess, u, fresh)
	default:
		p.issueCode(w, r, req, *sess)
	}
}

type scopeView struct{ Name, Description string }

// issueCode creates the code and sends the browser back to the client
// with code, state and iss (RFC 9207).
func (p *Pages) issueCode(w http.ResponseWriter, r *http.Request, req oidc.AuthorizeRequest, sess oidc.BrowserSession) {
	code, err := p.oidc.IssueCode(r.Context(), req, sess)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	p.hooks.Authorize("code")
	v := url.Values{"code": {code}, "iss": {p.cfg.Issuer}}
	if req.State != "" {
		v.Set("state", req.State)
	}
	p.redirect(w, r, req.RedirectURI, v)
}

// renderConsent shows the consent page, bound by its step ticket to this
// request, session and sign-in.
func (p *Pages) renderConsent(w http.ResponseWriter, r *http.Request, authz string, req oidc.AuthorizeRequest, client authority.Client, sess oidc.BrowserSession, u authority.User, fresh bool) {
	ticket, err := p.oidc.StepTicket(oidc.StepConsent, authz, sess, fresh)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	p.hooks.Authorize("consent_page")
	scopes := make([]scopeView, 0, len(req.Scopes))
	for _, sc := range req.Scopes {
		scopes = append(scopes, scopeView{Name: sc, Description: oidc.ScopeDescription(sc)})
	}
	v := view{Authz: authz, ClientName: client.Name, User: u, Scopes: scopes, Hidden: []hiddenField{{stepField, ticket}},
		Data: map[string]any{}}
	switch {
	case client.Document:
		// A client described by a metadata document is whoever controls
		// its host: the page says which host that is.
		if u, err := url.Parse(client.ID); err == nil {
			v.Data["DocumentHost"] = u.Host
		}
	case client.Registered():
		// A client that registered itself chose its own name: the page
		// says so, and where the answer will be sent.
		v.Data["SelfRegistered"] = redirectTarget(req.RedirectURI)
	}
	if req.Resource != "" {
		// The token will be for this resource server alone: the user is
		// told which one, by its registered name.
		res, err := p.oidc.ResourceByURI(r.Context(), req.Resource)
		if err != nil {
			p.renderFailure(w, r, err)
			return
		}
		v.Data["Resource"] = res
	}
	p.render(w, r, http.StatusOK, "consent", v, formOrigin(req.RedirectURI))
}

// stepField is the form field of a page's step ticket.
const stepField = "step"

// handleConsent records the user's answer on the consent page. Allowing
// decides the whole request again (oidc.Service.ConsentStep): a code is
// issued only for a post of this very consent page, in the session and
// sign-in it was shown for; otherwise the user signs in again or is asked
// again.
func (p *Pages) handleConsent(w http.ResponseWriter, r *http.Request) {
	if err := parsePost(w, r); err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", "invalid_request")
		return
	}
	if !p.checkCSRF(r) {
		p.refuseCSRF(w, r)
		return
	}
	authz := r.PostFormValue("authz")
	req, client, err := p.parseAuthz(r, authz)
	if err != nil {
		p.renderAuthorizeError(w, r, err)
		return
	}
	sess, u, err := p.session(r)
	if noSession(err) {
		// The session ended while the page was open: sign in again.
		p.render(w, r, http.StatusOK, "login", view{Authz: authz, ClientName: client.Name}, formOrigin(req.RedirectURI))
		return
	}
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	switch r.PostFormValue("consent") {
	case "allow":
		step, err := p.oidc.ConsentStep(r.Context(), r.PostFormValue(stepField), authz, req, client, sess)
		switch {
		case err != nil:
			p.renderAuthorizeError(w, r, err)
		case step == oidc.StepLogin:
			p.authorizeStep(w, r, authz, req, client, &sess, u, false)
		case step == oidc.StepConsent:
			p.renderConsent(w, r, authz, req, client, sess, u, false)
		default:
			if err := p.oidc.GrantConsent(r.Context(), u.ID, client, req, p.meta(r)); err != nil {
				p.renderFailure(w, r, err)
				return
			}
			p.issueCode(w, r, req, sess)
		}
	case "deny":
		p.oidc.DenyConsent(r.Context(), u.ID, client, req, p.meta(r))
		p.renderAuthorizeError(w, r, &oidc.AuthorizeError{Code: "access_denied", Description: "the user denied the request",
			Redirect: true, RedirectURI: req.RedirectURI, State: req.State})
	default:
		p.renderError(w, r, http.StatusBadRequest, "Bad request", "Choose Allow or Deny.", "invalid_request")
	}
}

// parseAuthz validates an authorization request carried through a form.
func (p *Pages) parseAuthz(r *http.Request, authz string) (oidc.AuthorizeRequest, authority.Client, error) {
	q, err := url.ParseQuery(authz)
	if err != nil || len(authz) > 16<<10 {
		return oidc.AuthorizeRequest{}, authority.Client{}, &oidc.AuthorizeError{Code: "invalid_request", Description: "the authorization request is malformed"}
	}
	return p.oidc.ParseAuthorize(r.Context(), q)
}

// canonicalAuthz is the query string of an authorization request, as the
// forms carry it: each parameter once, empty ones left out. It is parsed
// and validated again on every post.
func canonicalAuthz(q url.Values) string {
	c := url.Values{}
	for k, v := range q {
		if len(v) > 0 && v[0] != "" {
			c[k] = v[:1]
		}
	}
	return c.Encode()
}

// renderAuthorizeError answers an authorization error: a redirect to the
// client with error, error_description, state and iss when the redirect
// URI is trusted; an error page otherwise.
func (p *Pages) renderAuthorizeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *oidc.AuthorizeError
	if !errors.As(err, &ae) {
		p.hooks.Authorize("server_error")
		p.renderFailure(w, r, err)
		return
	}
	p.hooks.Authorize(ae.Code)
	if !ae.Redirect {
		p.renderError(w, r, http.StatusBadRequest, "This sign-in request is not valid", describeInvalid(ae), ae.Code)
		return
	}
	v := url.Values{"error": {ae.Code}, "error_description": {ae.Description}, "iss": {p.cfg.Issuer}}
	if ae.State != "" {
		v.Set("state", ae.State)
	}
	p.redirect(w, r, ae.RedirectURI, v)
}

func describeInvalid(ae *oidc.AuthorizeError) string {
	d := ae.Description
	if d == "" {
		return "The application sent a request that cannot be completed."
	}
	return "The application sent a request that cannot be completed: " + d + "."
}

// redirect sends the browser to uri with params added to its query. A
// POST is answered with 303 so the browser follows with a GET.
func (p *Pages) redirect(w http.ResponseWriter, r *http.Request, uri string, params url.Values) {
	u, err := url.Parse(uri)
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Invalid redirect", "The redirect URI cannot be used.", "invalid_request")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Location", u.String())
	w.WriteHeader(status)
}

// redirectTarget names where an authorization answer goes, for people:
// the host of an https or http redirect URI, the scheme of a native
// app's private-use one.
func redirectTarget(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return raw
	case u.Host != "":
		return u.Host
	default:
		return u.Scheme + ":"
	}
}
