package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// The pages of account self-service: the link mailed to verify an email,
// forgotten and reset passwords, and the account page's password change,
// sessions and deletion. Each calls the same authority methods as the
// REST API.

// registerAccountPages adds the routes of this file.
func (p *Pages) registerAccountPages(r *mux.Router) {
	r.HandleFunc("/verify-email", p.handleVerifyEmailPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/verify-email", p.handleVerifyEmail).Methods(http.MethodPost)
	r.HandleFunc("/forgot-password", p.handleForgotPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/forgot-password", p.handleForgot).Methods(http.MethodPost)
	r.HandleFunc("/reset-password", p.handleResetPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/reset-password", p.handleReset).Methods(http.MethodPost)
	r.HandleFunc("/account/password", p.handleChangePassword).Methods(http.MethodPost)
	r.HandleFunc("/account/sessions/revoke", p.handleRevokeSession).Methods(http.MethodPost)
	r.HandleFunc("/account/delete", p.handleDeleteAccount).Methods(http.MethodPost)
	r.HandleFunc("/account/verify-email/resend", p.handleResendVerification).Methods(http.MethodPost)
}

// accountPaths are served by the pages of this file.
var accountPaths = []string{"/verify-email", "/forgot-password", "/reset-password",
	"/account/password", "/account/sessions/revoke", "/account/delete", "/account/verify-email/resend",
	"/account/upstreams/link", "/account/upstreams/unlink"}

// postForm parses a form post and checks its CSRF token; on failure it
// answers and returns false.
func (p *Pages) postForm(w http.ResponseWriter, r *http.Request) bool {
	if err := parsePost(w, r); err != nil {
		p.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", "invalid_request")
		return false
	}
	if !p.checkCSRF(r) {
		p.refuseCSRF(w, r)
		return false
	}
	return true
}

// limited applies the per-client limit to a post that sends mail or
// spends a mailed token; it answers and returns true when over it.
func (p *Pages) limited(w http.ResponseWriter, r *http.Request, page string, v view) bool {
	if p.hooks.Limiter == nil {
		return false
	}
	ok, wait := p.hooks.Limiter.Allow(r)
	if ok {
		return false
	}
	secs := retrySeconds(wait)
	v.Alert = "Too many requests from your network. Try again in " + humanSeconds(secs) + "."
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	p.render(w, r, http.StatusTooManyRequests, page, v)
	return true
}

// handleVerifyEmailPage shows the button that confirms an email. Opening
// the link changes nothing by itself (mail scanners open links); the
// button's post does.
// A link that is already dead shows why and the way forward instead of
// the button (a page like any other, 200); checking it spends nothing.
func (p *Pages) handleVerifyEmailPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	err := p.accounts.CheckEmailLink(r.Context(), tok)
	switch {
	case err == nil:
		p.render(w, r, http.StatusOK, "verify_email", view{Hidden: []hiddenField{{"token", tok}}})
	case errors.Is(err, account.ErrBadAccountToken):
		p.render(w, r, http.StatusOK, "verify_email", view{Data: map[string]any{"Dead": true},
			Alert: "This link is invalid, already used or expired."})
	default:
		p.renderFailure(w, r, err)
	}
}

func (p *Pages) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	v := view{Hidden: []hiddenField{{"token", r.PostFormValue("token")}}}
	if p.limited(w, r, "verify_email", v) {
		return
	}
	err := p.accounts.VerifyEmail(r.Context(), r.PostFormValue("token"), p.meta(r))
	switch {
	case err == nil:
		p.render(w, r, http.StatusOK, "verify_email", view{Notice: "Your email address is confirmed.", Data: map[string]any{"Done": true}})
	case errors.Is(err, account.ErrBadAccountToken):
		v.Alert = "This link is invalid, already used or expired. Sign in to ask for a new one."
		p.render(w, r, http.StatusBadRequest, "verify_email", v)
	default:
		p.renderFailure(w, r, err)
	}
}

func (p *Pages) handleForgotPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "forgot_password", view{})
}

// handleForgot answers alike whether or not the email has an account.
func (p *Pages) handleForgot(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	v := view{Email: r.PostFormValue("email")}
	if p.limited(w, r, "forgot_password", v) {
		return
	}
	err := p.accounts.ForgotPassword(r.Context(), v.Email, p.meta(r))
	var ve *authority.ValidationError
	switch {
	case err == nil:
		v.Notice = "If an account uses this address, a link to choose a new password is on its way. It works for 30 minutes."
		p.render(w, r, http.StatusOK, "forgot_password", v)
	case errors.As(err, &ve):
		v.Alert = fieldLabel(ve.Field) + " " + ve.Reason + "."
		p.render(w, r, http.StatusUnprocessableEntity, "forgot_password", v)
	default:
		p.renderFailure(w, r, err)
	}
}

// handleResetPage shows the new-password form, or, for a dead link, why
// and where to ask for a new one; checking the link spends nothing.
func (p *Pages) handleResetPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	err := p.accounts.CheckResetLink(r.Context(), tok)
	switch {
	case err == nil:
		p.render(w, r, http.StatusOK, "reset_password", view{Hidden: []hiddenField{{"token", tok}}})
	case errors.Is(err, account.ErrBadAccountToken):
		p.render(w, r, http.StatusOK, "reset_password", view{Data: map[string]any{"Dead": true},
			Alert: "This link is invalid, already used or expired."})
	default:
		p.renderFailure(w, r, err)
	}
}

// handleReset sets the new password; every session ends, this browser's
// too, so the user signs in again with it.
func (p *Pages) handleReset(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	v := view{Hidden: []hiddenField{{"token", r.PostFormValue("token")}}}
	if p.limited(w, r, "reset_password", v) {
		return
	}
	err := p.accounts.ResetPassword(r.Context(), r.PostFormValue("token"), r.PostFormValue("password"), p.meta(r))
	var ve *authority.ValidationError
	switch {
	case err == nil:
		p.clearSession(w)
		p.render(w, r, http.StatusOK, "login", view{Notice: "Your password is changed. Sign in with it."})
	case errors.As(err, &ve):
		v.setErrors(fieldErrors(err), ve.Field)
		p.render(w, r, http.StatusUnprocessableEntity, "reset_password", v)
	case errors.Is(err, account.ErrBadAccountToken):
		v.Alert = "This link is invalid, already used or expired. Ask for a new one."
		p.render(w, r, http.StatusBadRequest, "reset_password", v)
	default:
		p.renderFailure(w, r, err)
	}
}

// accountPost checks a post from the account page and returns its
// session; on failure it answers and returns false.
func (p *Pages) accountPost(w http.ResponseWriter, r *http.Request) (oidc.BrowserSession, authority.User, bool) {
	if !p.postForm(w, r) {
		return oidc.BrowserSession{}, authority.User{}, false
	}
	sess, u, err := p.session(r)
	if noSession(err) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return sess, u, false
	}
	if err != nil {
		p.renderFailure(w, r, err)
		return sess, u, false
	}
	return sess, u, true
}

// renderAccount shows the account page with an alert (status) or the
// notice of a finished action.
func (p *Pages) renderAccount(w http.ResponseWriter, r *http.Request, sess oidc.BrowserSession, u authority.User, status int, alert, notice string) {
	p.renderAccountView(w, r, sess, u, status, view{Alert: alert, Notice: notice})
}

// renderAccountView shows the account page with v's messages and field
// errors.
func (p *Pages) renderAccountView(w http.ResponseWriter, r *http.Request, sess oidc.BrowserSession, u authority.User, status int, v view) {
	consents, err := p.oidc.Consents(r.Context(), u.ID)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	sessions, err := p.accounts.Sessions(r.Context(), u.ID)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	factors, err := p.factors.Factors(r.Context(), u.ID)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	passkeys, err := p.factors.WebAuthnCredentials(r.Context(), u.ID)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	// The few clients the sessions name, by name (a lookup the client
	// cache answers); one no longer registered keeps its id.
	names := map[string]string{}
	for _, sn := range sessions {
		if _, seen := names[sn.ClientID]; seen || sn.ClientID == "" {
			continue
		}
		c, err := p.auth.Client(r.Context(), sn.ClientID)
		switch {
		case err == nil:
			names[sn.ClientID] = c.Name
		case errors.Is(err, authority.ErrNotFound):
			names[sn.ClientID] = ""
		default:
			p.renderFailure(w, r, err)
			return
		}
	}
	ups, err := p.accountUpstreams(r, u)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	v.User, v.Session, v.Consents, v.Wide = u, sess, consents, true
	v.Data = map[string]any{"Sessions": sessions, "Factors": factors, "Passkeys": passkeys, "ClientNames": names,
		"Identities": ups.Identities, "Linkable": ups.Linkable, "HasPassword": u.PasswordHash != "", "CanUnlink": ups.CanUnlink,
		"RecentSignIn": humanDuration(RecentSignIn)}
	// A link form's post is redirected to its upstream: the CSP's
	// form-action must allow it.
	p.render(w, r, status, "account", v, ups.Origins...)
}

// handleChangePassword changes the password. Both fields are checked
// before either is reported, each error shown next to its field: a new
// password of the wrong length is refused before the current one is
// hashed.
func (p *Pages) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	errs := map[string]string{}
	if current == "" {
		errs["current_password"] = "Current password is required."
	}
	if err := authority.ValidatePassword(next); err != nil {
		errs["new_password"] = "New password " + err.(*authority.ValidationError).Reason + "."
	}
	if len(errs) == 0 {
		err := p.accounts.ChangePassword(r.Context(), u.ID, current, next, sess.ID, p.meta(r))
		var ve *authority.ValidationError
		switch {
		case err == nil:
			http.Redirect(w, r, "/account?done=password-changed", http.StatusSeeOther)
			return
		case errors.Is(err, authority.ErrInvalidCredentials):
			errs["current_password"] = "Current password is not right."
		case errors.As(err, &ve):
			errs["new_password"] = "New password " + ve.Reason + "."
		default:
			p.renderFailure(w, r, err)
			return
		}
	}
	var v view
	v.setErrors(errs, "current_password", "new_password")
	status := http.StatusUnprocessableEntity
	if errs["current_password"] == "Current password is not right." {
		status = http.StatusUnauthorized
	}
	p.renderAccountView(w, r, sess, u, status, v)
}

// handleResendVerification mails a new verification link to the
// account's unverified email, under the same per-client limit as the
// other mail-sending posts.
func (p *Pages) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	if p.hooks.Limiter != nil {
		if ok, wait := p.hooks.Limiter.Allow(r); !ok {
			secs := retrySeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			p.renderAccount(w, r, sess, u, http.StatusTooManyRequests, "Too many requests from your network. Try again in "+humanSeconds(secs)+".", "")
			return
		}
	}
	if err := p.accounts.ResendVerification(r.Context(), u.ID, p.meta(r)); err != nil {
		p.renderFailure(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=verification-sent", http.StatusSeeOther)
}

// handleRevokeSession signs one session out; signing this browser's own
// out ends at the sign-in page.
func (p *Pages) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("session_id")
	err := p.accounts.RevokeSession(r.Context(), u.ID, id, p.meta(r))
	switch {
	case err == nil && id == sess.ID:
		p.clearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case err == nil, errors.Is(err, authority.ErrNotFound):
		http.Redirect(w, r, "/account?done=session-ended", http.StatusSeeOther)
	default:
		p.renderFailure(w, r, err)
	}
}

// handleDeleteAccount deletes the account after checking its password.
func (p *Pages) handleDeleteAccount(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	err := p.accounts.DeleteAccount(r.Context(), u.ID, r.PostFormValue("password"), p.meta(r))
	switch {
	case err == nil:
		p.clearSession(w)
		p.render(w, r, http.StatusOK, "login", view{Notice: "Your account is deleted."})
	case errors.Is(err, authority.ErrInvalidCredentials):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, "The password is not right; the account was not deleted.", "")
	default:
		p.renderFailure(w, r, err)
	}
}

func isAccountPage(path string) bool { return slices.Contains(accountPaths, path) }
