package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/upstream"
)

// upstreamButton is an upstream as the sign-in and sign-up pages offer it.
type upstreamButton struct {
	ID, Name string
	// SessionAnswers: the upstream cannot be asked for a new sign-in
	// (GitHub), so its own session may answer "Sign in again" alone.
	SessionAnswers bool
}

func (p *Pages) registerUpstreamPages(r *mux.Router) {
	r.HandleFunc("/login/upstream", p.handleUpstreamStart).Methods(http.MethodPost)
	r.HandleFunc("/login/upstream/{id}/callback", p.handleUpstreamCallback).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login/upstream/link", p.handleUpstreamLink).Methods(http.MethodPost)
	r.HandleFunc("/account/upstreams/link", p.handleAccountLink).Methods(http.MethodPost)
	r.HandleFunc("/account/upstreams/unlink", p.handleAccountUnlink).Methods(http.MethodPost)
}

// upstreamButtons lists the upstreams for the sign-in and sign-up pages,
// and the origins their forms' redirects go to (for the CSP's
// form-action).
func (p *Pages) upstreamButtons(r *http.Request) ([]upstreamButton, []string) {
	if p.upstreams == nil {
		return nil, nil
	}
	us, err := p.upstreams.Listed(r.Context())
	if err != nil {
		p.log.Warn("upstreams not listed on the sign-in page", "err", err)
		return nil, nil
	}
	out, origins := make([]upstreamButton, len(us)), make([]string, 0, len(us))
	for i, u := range us {
		out[i] = upstreamButton{ID: u.ID, Name: u.Name}
		origins = append(origins, formOrigin(u.Issuer))
	}
	return out, origins
}

func (p *Pages) upstreamCookieName() string {
	if p.secure {
		return "__Host-sigil_upstream"
	}
	return "sigil_upstream"
}

func (p *Pages) setUpstreamCookie(w http.ResponseWriter, value string) {
	age := int(upstream.PendingTTL.Seconds())
	if value == "" {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{Name: p.upstreamCookieName(), Value: value, Path: "/", HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode, MaxAge: age})
}

func (p *Pages) upstreamCookie(r *http.Request) string {
	if c, err := r.Cookie(p.upstreamCookieName()); err == nil {
		return c.Value
	}
	return ""
}

// handleUpstreamStart sends the browser to the upstream it chose, with a
// cookie that binds the sign-in to this browser.
func (p *Pages) handleUpstreamStart(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	authz := r.PostFormValue("authz")
	if _, _, ok := p.authzView(w, r, authz); !ok {
		return
	}
	if p.upstreams == nil {
		p.renderUpstreamError(w, r, authority.ErrNotFound, authz)
		return
	}
	// Each start reads the upstream's discovery document and stores a
	// pending sign-in: under the per-client limit of the sign-in forms.
	if p.hooks.Limiter != nil {
		if ok, _ := p.hooks.Limiter.Allow(r); !ok {
			p.renderError(w, r, http.StatusTooManyRequests, "Too many requests", "Too many requests from your network. Please wait and try again.", "temporarily_unavailable")
			return
		}
	}
	// A browser signed in already signs in again (the account page's
	// "Sign in again", a sign-in the authorization request asks anew):
	// a re-authentication, which the upstream's session may not answer
	// alone. The browser's choice does not decide it, so that a
	// session's holder cannot skip it.
	_, _, serr := p.session(r)
	st, err := p.upstreams.Begin(r.Context(), r.PostFormValue("upstream"), authz, serr == nil, p.meta(r))
	if err != nil {
		p.renderUpstreamError(w, r, err, authz)
		return
	}
	p.setUpstreamCookie(w, st.Browser)
	http.Redirect(w, r, st.URL, http.StatusSeeOther)
}

// handleUpstreamCallback finishes a sign-in at an upstream: a session for
// the user it names, the page that asks an existing account's password
// before linking, or a page saying why not.
func (p *Pages) handleUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	signedIn := ""
	if _, u, err := p.session(r); err == nil {
		signedIn = u.ID
	}
	res, err := p.upstreams.Finish(r.Context(), mux.Vars(r)["id"], upstream.Callback{
		State: q.Get("state"), Code: q.Get("code"), Iss: q.Get("iss"), Error: q.Get("error"), Browser: p.upstreamCookie(r),
		SignedIn: signedIn,
	}, p.meta(r))
	if err != nil {
		p.setUpstreamCookie(w, "")
		p.renderUpstreamError(w, r, err, res.Authz)
		return
	}
	if res.LinkedTo != "" {
		// A link started on the account page: nobody is signed in anew.
		p.setUpstreamCookie(w, "")
		if res.AlreadyLinked {
			http.Redirect(w, r, "/account?done=upstream-already-linked", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/account?done=upstream-linked", http.StatusSeeOther)
		return
	}
	if res.LinkTicket != "" {
		p.renderUpstreamLink(w, r, http.StatusOK, res, "")
		return
	}
	p.setUpstreamCookie(w, "")
	p.upstreamSignedIn(w, r, res)
}

func (p *Pages) upstreamSignedIn(w http.ResponseWriter, r *http.Request, res upstream.Result) {
	sess, u, cookie, err := p.oidc.StartSession(r.Context(), res.User, res.AMR, p.meta(r), p.currentSession(r))
	p.hooks.LoginResult(err)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	p.signedIn(w, r, sess, u, cookie, res.Authz)
}

// renderUpstreamLink asks the password of the account of the same email
// before linking. Its form may end, through redirects, at the
// authorization request's redirect URI, which the CSP must allow.
func (p *Pages) renderUpstreamLink(w http.ResponseWriter, r *http.Request, status int, res upstream.Result, alert string) {
	v, target, ok := p.authzView(w, r, res.Authz)
	if !ok {
		return
	}
	v.Email, v.Alert, v.Data = res.LinkEmail, alert, map[string]any{"LinkTicket": res.LinkTicket}
	p.render(w, r, status, "upstream_link", v, target)
}

// handleUpstreamLink links an upstream identity to the existing account
// of its email once that account's password (and second factor) is
// given, or cancels.
func (p *Pages) handleUpstreamLink(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	ticket, browser := r.PostFormValue("ticket"), p.upstreamCookie(r)
	_, target, ok := p.authzView(w, r, r.PostFormValue("authz"))
	if !ok {
		return
	}
	if r.PostFormValue("cancel") != "" {
		authz := p.upstreams.Cancel(r.Context(), ticket, browser)
		p.setUpstreamCookie(w, "")
		http.Redirect(w, r, loginURL(authz), http.StatusSeeOther)
		return
	}
	if p.hooks.Limiter != nil {
		if ok, _ := p.hooks.Limiter.Allow(r); !ok {
			p.renderError(w, r, http.StatusTooManyRequests, "Too many requests", "Too many requests from your network. Please wait and try again.", "temporarily_unavailable")
			return
		}
	}
	res, err := p.upstreams.Link(r.Context(), ticket, browser, r.PostFormValue("password"), p.meta(r))
	p.hooks.LoginResult(err)
	if err != nil {
		v := view{Authz: res.Authz}
		switch {
		case errors.Is(err, authority.ErrInvalidCredentials):
			p.renderUpstreamLink(w, r, http.StatusUnauthorized, res, "Wrong password.")
		case res.LinkTicket != "":
			v.Data = map[string]any{"LinkTicket": res.LinkTicket}
			var req *mfa.RequiredError
			if errors.As(err, &req) {
				// The ticket and its cookie must outlive the second
				// factor's step, whenever the password came.
				if herr := p.upstreams.HoldForSecondFactor(r.Context(), ticket, browser, mfa.TokenTTL); herr != nil {
					p.setUpstreamCookie(w, "")
					p.renderUpstreamError(w, r, herr, res.Authz)
					return
				}
				p.setUpstreamCookie(w, browser)
			}
			if p.renderSecondFactor(w, r, v, err, target) {
				return
			}
			p.setUpstreamCookie(w, "")
			p.renderUpstreamError(w, r, err, res.Authz)
		default:
			p.setUpstreamCookie(w, "")
			p.renderUpstreamError(w, r, err, res.Authz)
		}
		return
	}
	p.setUpstreamCookie(w, "")
	p.upstreamSignedIn(w, r, res)
}

// linkAfterSecondFactor finishes the link a sign-in's second factor was
// asked for (the mfa form carries the ticket).
func (p *Pages) linkAfterSecondFactor(w http.ResponseWriter, r *http.Request, u authority.User) {
	ticket := r.PostFormValue("link_ticket")
	if ticket == "" || p.upstreams == nil {
		return
	}
	if _, err := p.upstreams.LinkAfterSecondFactor(r.Context(), ticket, p.upstreamCookie(r), u, p.meta(r)); err != nil {
		p.log.Warn("upstream identity not linked after the second factor", "user_id", u.ID, "err", err)
	}
	p.setUpstreamCookie(w, "")
}

func loginURL(authz string) string {
	if authz == "" {
		return "/login"
	}
	return "/login?authz=" + url.QueryEscape(authz)
}

// renderUpstreamError shows why a sign-in through an upstream failed,
// with the way back to the sign-in page; no session was opened.
func (p *Pages) renderUpstreamError(w http.ResponseWriter, r *http.Request, err error, authz string) {
	status, title, desc, code := http.StatusBadRequest, "Sign-in failed", "", "upstream_error"
	switch {
	case errors.Is(err, authority.ErrNotFound):
		status, desc, code = http.StatusNotFound, "There is no such way to sign in here.", "unknown_upstream"
	case errors.Is(err, upstream.ErrUnavailable):
		status, desc, code = http.StatusBadGateway, "The identity provider could not be reached or gave an answer that makes no sense. Please try again later.", "upstream_unavailable"
	case errors.Is(err, upstream.ErrRefused):
		status, desc, code = http.StatusForbidden, "The identity provider did not sign you in.", "upstream_refused"
	case errors.Is(err, upstream.ErrExpired):
		desc, code = "The sign-in took too long. Please start again.", "expired"
	case errors.Is(err, upstream.ErrBadState):
		desc, code = "This sign-in link is not valid, was already used, or was started in another browser. Please start again.", "invalid_state"
	case errors.Is(err, upstream.ErrRejected):
		status, desc, code = http.StatusBadGateway, "The identity provider's answer could not be verified, so it was not accepted.", "upstream_rejected"
	case errors.Is(err, upstream.ErrNotFresh):
		status, desc, code = http.StatusUnauthorized, "The identity provider did not ask you to sign in again, so this does not count as signing in again. Nothing was changed. Sign out there, or try again.", "upstream_not_fresh"
	case errors.Is(err, upstream.ErrLinkedElsewhere):
		p.render(w, r, http.StatusConflict, "error", view{Error: errorView{Title: "Already linked to another account",
			Description: "This account at the identity provider is already linked to another account here. Nothing was changed. Sign in to that account to unlink it first.",
			Code:        "identity_taken", Back: "/account", BackText: "Back to your account"}})
		return
	case errors.Is(err, upstream.ErrNoEmail):
		status, desc, code = http.StatusForbidden, "The identity provider did not share an email address, which an account here needs.", "no_email"
	case errors.Is(err, upstream.ErrUnsupportedType):
		status, desc, code = http.StatusNotImplemented, "This way to sign in is not supported yet.", "unsupported"
	case errors.Is(err, authority.ErrAccountLocked):
		status, desc, code = http.StatusForbidden, "This account is locked. Contact your administrator.", "account_locked"
	case errors.Is(err, authority.ErrEmailNotVerified):
		status, desc, code = http.StatusForbidden, "Confirm your email address first: a new link has been sent to it.", "email_not_verified"
	default:
		var te *authority.ThrottledError
		if errors.As(err, &te) || errors.Is(err, authority.ErrUnavailable) || errors.Is(err, authority.ErrOverloaded) {
			p.renderFailure(w, r, err)
			return
		}
		p.log.Error("upstream sign-in failed", "err", err)
		status, title, desc, code = http.StatusInternalServerError, "Something went wrong", "The sign-in could not be completed.", "server_error"
	}
	p.render(w, r, status, "error", view{Error: errorView{Title: title, Description: desc, Code: code, Back: loginURL(authz)}})
}
