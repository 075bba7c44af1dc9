package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// handleLogout is RP-Initiated Logout 1.0 (GET or POST): id_token_hint,
// post_logout_redirect_uri, state, client_id. With a valid hint naming
// the browser session's user (or with no session) and a post-logout URI
// registered for its client it signs out at once and redirects there
// with state. Otherwise (a hint for another user included) it asks for
// confirmation; the
// confirmation form (CSRF-protected, as is the account page's sign-out)
// signs out and then redirects to a registered URI or shows that the user
// is signed out. Signing out ends the browser session and revokes the
// refresh tokens issued through it.
func (p *Pages) handleLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := parsePost(w, r); err != nil {
			p.renderError(w, r, http.StatusBadRequest, "Bad request", "The logout request could not be read.", "invalid_request")
			return
		}
		q = r.PostForm
	}
	for k, v := range q {
		if len(v) > 1 {
			p.renderError(w, r, http.StatusBadRequest, "Invalid sign-out request", "The parameter "+k+" is repeated.", "invalid_request")
			return
		}
	}
	postURI, state, clientID := q.Get("post_logout_redirect_uri"), q.Get("state"), q.Get("client_id")
	var hint *oidc.IDClaims
	if raw := q.Get("id_token_hint"); raw != "" {
		ic, err := p.oidc.ParseIDTokenHint(raw)
		if err != nil {
			if errors.Is(err, authority.ErrInvalidToken) {
				p.renderError(w, r, http.StatusBadRequest, "Invalid sign-out request", "The id_token_hint is not an ID token issued here.", "invalid_request")
			} else {
				p.renderFailure(w, r, err)
			}
			return
		}
		if clientID != "" && !ic.Audience.Contains(clientID) {
			p.renderError(w, r, http.StatusBadRequest, "Invalid sign-out request", "client_id does not match the id_token_hint.", "invalid_request")
			return
		}
		hint, clientID = &ic, ic.Audience[0]
	}
	if postURI != "" {
		if clientID == "" {
			p.renderError(w, r, http.StatusBadRequest, "Invalid sign-out request", "post_logout_redirect_uri needs client_id or id_token_hint.", "invalid_request")
			return
		}
		c, err := p.auth.Client(r.Context(), clientID)
		if errors.Is(err, authority.ErrNotFound) || (err == nil && !slices.Contains(c.PostLogoutRedirectURIs, postURI)) {
			p.renderError(w, r, http.StatusBadRequest, "Invalid sign-out request", "post_logout_redirect_uri is not registered for this client.", "invalid_request")
			return
		}
		if err != nil {
			p.renderFailure(w, r, err)
			return
		}
	}

	confirmed := r.Method == http.MethodPost && r.PostForm.Has(csrfField) && p.checkCSRF(r)
	if r.Method == http.MethodPost && r.PostForm.Has(csrfField) && !confirmed {
		p.refuseCSRF(w, r)
		return
	}
	_, u, err := p.session(r)
	if err != nil && !noSession(err) {
		p.renderFailure(w, r, err)
		return
	}
	// A hint naming another user than the browser's signs nobody out at
	// once: the client may not know who is signed in here.
	hintMatches := hint != nil && (u.ID == "" || u.ID == hint.Subject)
	if !confirmed && !(hintMatches && postURI != "") {
		var hidden []hiddenField
		for _, k := range []string{"post_logout_redirect_uri", "state", "client_id"} {
			if v := q.Get(k); v != "" {
				hidden = append(hidden, hiddenField{k, v})
			}
		}
		if clientID != "" && q.Get("client_id") == "" {
			hidden = append(hidden, hiddenField{"client_id", clientID})
		}
		p.render(w, r, http.StatusOK, "logout", view{User: u, Hidden: hidden}, formOrigin(postURI))
		return
	}
	if err := p.endSessions(w, r, hint); err != nil {
		p.renderFailure(w, r, err)
		return
	}
	if postURI != "" {
		v := url.Values{}
		if state != "" {
			v.Set("state", state)
		}
		p.redirect(w, r, postURI, v)
		return
	}
	p.render(w, r, http.StatusOK, "signed_out", view{})
}

// endSessions ends the browser's session and, when the hint names another
// session of the same user (or the browser has none), that one too.
func (p *Pages) endSessions(w http.ResponseWriter, r *http.Request, hint *oidc.IDClaims) error {
	sess, u, err := p.session(r)
	if err != nil && !noSession(err) {
		return err
	}
	meta := p.meta(r)
	if err == nil {
		if err := p.oidc.EndBrowserSession(r.Context(), sess.ID, meta); err != nil {
			return err
		}
	}
	if hint != nil && hint.SID != "" && hint.SID != sess.ID && (u.ID == "" || u.ID == hint.Subject) {
		if err := p.oidc.EndBrowserSession(r.Context(), hint.SID, meta); err != nil {
			return err
		}
	}
	p.clearSession(w)
	return nil
}
