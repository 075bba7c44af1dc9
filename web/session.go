package web

import (
	"errors"
	"net/http"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

func (p *Pages) sessionCookieName() string {
	if p.secure {
		return "__Host-sigil_session"
	}
	return "sigil_session"
}

// setSession gives the browser its session cookie: HttpOnly, SameSite=Lax
// (so it travels on the top-level navigation back from a client), Secure
// when the issuer is https, for the session's lifetime.
func (p *Pages) setSession(w http.ResponseWriter, sess oidc.BrowserSession, value string) {
	http.SetCookie(w, &http.Cookie{Name: p.sessionCookieName(), Value: value, Path: "/", HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt})
}

// currentSession is the request's live browser session, nil if none: a
// sign-in keeps it (and its sid) when it is the same user's.
func (p *Pages) currentSession(r *http.Request) *oidc.BrowserSession {
	if cs, _, err := p.session(r); err == nil {
		return &cs
	}
	return nil
}

// authzView starts the view of a sign-in step that may serve an
// authorization request (authz, possibly empty): the client's name, and
// the redirect origin the page's forms may post to. An authz that no
// longer parses is answered with the authorization error page (ok false).
func (p *Pages) authzView(w http.ResponseWriter, r *http.Request, authz string) (v view, target string, ok bool) {
	v = view{Authz: authz}
	if authz == "" {
		return v, "", true
	}
	if id, ok := oidc.DeviceAuthzID(authz); ok {
		// A device authorization: its pages post to Sigil alone.
		_, client, err := p.oidc.PendingDevice(r.Context(), id)
		if err != nil {
			p.renderDeviceError(w, r, err)
			return v, "", false
		}
		v.ClientName = client.Name
		return v, "", true
	}
	req, client, aerr := p.parseAuthz(r, authz)
	if aerr != nil {
		p.renderAuthorizeError(w, r, aerr)
		return v, "", false
	}
	v.ClientName = client.Name
	return v, formOrigin(req.RedirectURI), true
}

// signedIn ends a successful sign-in: it sets the session cookie (a new
// value at every sign-in, even one that keeps the session), then goes on with
// the authorization request the sign-in was for, or to the account page.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, sess oidc.BrowserSession, u authority.User, cookie, authz string) {
	if cookie != "" {
		p.setSession(w, sess, cookie)
	}
	if authz != "" {
		p.continueAuthorization(w, r, authz, sess, u, true)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (p *Pages) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.sessionCookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// session returns the request's live browser session and its user;
// oidc.ErrNoSession when there is none.
func (p *Pages) session(r *http.Request) (oidc.BrowserSession, authority.User, error) {
	c, err := r.Cookie(p.sessionCookieName())
	if err != nil {
		return oidc.BrowserSession{}, authority.User{}, oidc.ErrNoSession
	}
	return p.oidc.BrowserSession(r.Context(), c.Value)
}

// noSession reports whether err only means there is no session.
func noSession(err error) bool { return errors.Is(err, oidc.ErrNoSession) }
