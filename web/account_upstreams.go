package web

import (
	"cmp"
	"errors"
	"net/http"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/upstream"
)

// The account page's linked accounts: the upstream identities linked to
// the user, each with its "Unlink" form, and a "Link {name}" form for
// each upstream not linked yet.

// identityView is a linked upstream identity as the account page shows it.
type identityView struct {
	UpstreamID, Subject, Upstream, Email string
	Linked                               time.Time
}

// accountUpstreamsView is what the account page shows of upstreams.
type accountUpstreamsView struct {
	Identities []identityView
	Linkable   []upstreamButton
	// CanUnlink is false when the only identity is the account's only
	// way to sign in.
	CanUnlink bool
	// SignInWith are the linked upstreams an account without a password
	// signs in again with (for the page's sensitive forms).
	SignInWith []upstreamButton
	// Origins are the upstreams' origins the link and sign-in forms end
	// at.
	Origins []string
}

// accountUpstreams lists the identities linked to u, by the upstream's
// name, and the upstreams u has no identity at.
func (p *Pages) accountUpstreams(r *http.Request, u authority.User) (accountUpstreamsView, error) {
	var out accountUpstreamsView
	if p.upstreams == nil {
		return out, nil
	}
	ids, err := p.upstreams.Identities(r.Context(), u.ID)
	if err != nil {
		return out, err
	}
	us, err := p.upstreams.List(r.Context())
	if err != nil {
		return out, err
	}
	names, linked := map[string]string{}, map[string]bool{}
	for _, u := range us {
		names[u.ID] = u.Name
	}
	for _, id := range ids {
		linked[id.UpstreamID] = true
		out.Identities = append(out.Identities, identityView{UpstreamID: id.UpstreamID, Subject: id.Subject,
			Upstream: cmp.Or(names[id.UpstreamID], id.UpstreamID), Email: id.Email, Linked: id.CreatedAt})
	}
	for _, up := range us {
		switch {
		case !linked[up.ID]:
			out.Linkable = append(out.Linkable, upstreamButton{ID: up.ID, Name: up.Name})
			out.Origins = append(out.Origins, formOrigin(up.Issuer))
		case u.PasswordHash == "":
			out.SignInWith = append(out.SignInWith, upstreamButton{ID: up.ID, Name: up.Name, SessionAnswers: up.Type == upstream.TypeGitHub})
			out.Origins = append(out.Origins, formOrigin(up.Issuer))
		}
	}
	out.CanUnlink = u.PasswordHash != "" || len(ids) > 1
	return out, nil
}

// handleAccountLink starts a sign-in at an upstream whose identity is
// then linked to the signed-in user (not by email). Like the page's
// other sensitive forms it needs the account's password; an account
// without one needs a sign-in of the last RecentSignIn.
func (p *Pages) handleAccountLink(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	if p.upstreams == nil {
		p.renderAccount(w, r, sess, u, http.StatusNotFound, "There is no such way to sign in here.", "")
		return
	}
	if p.hooks.Limiter != nil {
		if ok, _ := p.hooks.Limiter.Allow(r); !ok {
			p.renderAccount(w, r, sess, u, http.StatusTooManyRequests, "Too many requests from your network. Please wait and try again.", "")
			return
		}
	}
	_, err := p.auth.Reauthenticate(r.Context(), u.ID, reauth(r, sess, "password"), p.meta(r))
	var te *authority.ThrottledError
	switch {
	case errors.Is(err, authority.ErrSignInNotRecent):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, signInAgainAlert("linking another account"), "")
		return
	case errors.Is(err, authority.ErrInvalidCredentials):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, "The password is not right; nothing was linked.", "")
		return
	case errors.As(err, &te):
		p.renderAccount(w, r, sess, u, http.StatusTooManyRequests, "Too many wrong passwords for this account. Please wait "+humanSeconds(retrySeconds(te.RetryAfter))+" and try again.", "")
		return
	case err != nil:
		p.renderFailure(w, r, err)
		return
	}
	st, err := p.upstreams.BeginLink(r.Context(), r.PostFormValue("upstream"), u.ID, p.meta(r))
	switch {
	case errors.Is(err, authority.ErrNotFound):
		p.renderAccount(w, r, sess, u, http.StatusNotFound, "There is no such way to sign in here.", "")
		return
	case err != nil:
		p.renderUpstreamError(w, r, err, "")
		return
	}
	p.setUpstreamCookie(w, st.Browser)
	http.Redirect(w, r, st.URL, http.StatusSeeOther)
}

// handleAccountUnlink unlinks one of the user's identities, never the
// last way to sign in (409, nothing changed).
func (p *Pages) handleAccountUnlink(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	if p.upstreams == nil {
		p.renderAccount(w, r, sess, u, http.StatusNotFound, "That account is not linked to yours.", "")
		return
	}
	err := p.upstreams.Unlink(r.Context(), u.ID, r.PostFormValue("upstream"), r.PostFormValue("subject"), p.meta(r))
	switch {
	case err == nil:
		http.Redirect(w, r, "/account?done=upstream-unlinked", http.StatusSeeOther)
	case errors.Is(err, upstream.ErrLastSignIn):
		p.renderAccount(w, r, sess, u, http.StatusConflict,
			"This is the only way to sign in to your account, so it stays linked. Set a password (below) or link another account first.", "")
	case errors.Is(err, authority.ErrNotFound):
		p.renderAccount(w, r, sess, u, http.StatusNotFound, "That account is not linked to yours.", "")
	default:
		p.renderFailure(w, r, err)
	}
}
