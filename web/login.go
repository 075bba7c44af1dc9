package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// handleLoginPage shows the sign-in form. On its own (no authorization
// request) a user who is already signed in goes to their account page.
func (p *Pages) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	authz := r.URL.Query().Get("authz")
	if authz == "" {
		if _, _, err := p.session(r); err == nil {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return
		} else if !noSession(err) {
			p.renderFailure(w, r, err)
			return
		}
	}
	v := view{Authz: authz}
	if _, ok := oidc.DeviceAuthzID(authz); ok {
		if v, _, ok = p.authzView(w, r, authz); ok {
			p.render(w, r, http.StatusOK, "login", v)
		}
		return
	}
	if authz != "" {
		req, client, aerr := p.parseAuthz(r, authz)
		if aerr != nil {
			p.renderAuthorizeError(w, r, aerr)
			return
		}
		v.ClientName, v.Email = client.Name, req.LoginHint
		p.render(w, r, http.StatusOK, "login", v, formOrigin(req.RedirectURI))
		return
	}
	p.render(w, r, http.StatusOK, "login", v)
}

// handleLogin checks the credentials with the same rules as /auth/login
// (one answer for unknown email and wrong password, lockout, the rate
// limit and the hashing gate), opens a browser session and goes on with
// the authorization request it came from, or to the account page.
func (p *Pages) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	authz := r.PostFormValue("authz")
	v, target, ok := p.authzView(w, r, authz)
	if !ok {
		return
	}
	v.Email = r.PostFormValue("email")
	if p.hooks.Limiter != nil {
		if ok, wait := p.hooks.Limiter.Allow(r); !ok {
			p.refuseThrottled(w, r, v, wait, "Too many requests from your network. Please wait and try again.", target)
			return
		}
	}
	current := p.currentSession(r)
	sess, u, cookie, err := p.oidc.SignIn(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), p.meta(r), current)
	p.hooks.LoginResult(err)
	if err != nil {
		if p.renderSecondFactor(w, r, v, err, target) {
			return
		}
		var te *authority.ThrottledError
		switch {
		case errors.Is(err, authority.ErrInvalidCredentials):
			v.Alert = "Invalid email or password."
			p.render(w, r, http.StatusUnauthorized, "login", v, target)
		case errors.As(err, &te):
			p.refuseThrottled(w, r, v, te.RetryAfter, "Too many failed attempts for this account.", target)
		case errors.Is(err, authority.ErrAccountLocked):
			v.Alert = "This account is locked. Contact your administrator."
			p.render(w, r, http.StatusForbidden, "login", v, target)
		case errors.Is(err, authority.ErrEmailNotVerified):
			v.Alert = "Confirm your email address first: a new link has been sent to it."
			p.render(w, r, http.StatusForbidden, "login", v, target)
		default:
			p.renderFailure(w, r, err)
		}
		return
	}
	p.signedIn(w, r, sess, u, cookie, authz)
}

// refuseThrottled re-shows the sign-in form with a 429 and Retry-After.
func (p *Pages) refuseThrottled(w http.ResponseWriter, r *http.Request, v view, wait time.Duration, why, target string) {
	secs := retrySeconds(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	v.Alert = fmt.Sprintf("%s Try again in %s.", why, humanSeconds(secs))
	p.render(w, r, http.StatusTooManyRequests, "login", v, target)
}

// retrySeconds rounds a wait up to whole seconds, at least one, for
// Retry-After.
func retrySeconds(wait time.Duration) int {
	return max(1, int((wait+time.Second-1)/time.Second))
}

func humanSeconds(s int) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case s < 120:
		return "a minute"
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}

// handleSignupPage shows the form that creates an account.
func (p *Pages) handleSignupPage(w http.ResponseWriter, r *http.Request) {
	authz := r.URL.Query().Get("authz")
	v, target, ok := p.authzView(w, r, authz)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "signup", v, target)
}

// handleSignup creates the account, signs its owner in, and goes on as a
// sign-in would.
func (p *Pages) handleSignup(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	authz := r.PostFormValue("authz")
	v, target, ok := p.authzView(w, r, authz)
	if !ok {
		return
	}
	v.Email, v.Name = r.PostFormValue("email"), r.PostFormValue("name")
	if p.hooks.Limiter != nil {
		if ok, wait := p.hooks.Limiter.Allow(r); !ok {
			secs := retrySeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			v.Alert = "Too many requests from your network. Try again in " + humanSeconds(secs) + "."
			p.render(w, r, http.StatusTooManyRequests, "signup", v, target)
			return
		}
	}
	in := authority.Signup{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"), Name: r.PostFormValue("name")}
	if errs := signupErrors(in); len(errs) > 0 {
		v.setErrors(errs, "name", "email", "password")
		p.render(w, r, http.StatusUnprocessableEntity, "signup", v, target)
		return
	}
	sess, u, cookie, err := p.oidc.SignUpBrowser(r.Context(), in, p.meta(r))
	if err != nil {
		var ve *authority.ValidationError
		switch {
		case errors.As(err, &ve):
			v.setErrors(fieldErrors(err), ve.Field)
			p.render(w, r, http.StatusUnprocessableEntity, "signup", v, target)
		case errors.Is(err, authority.ErrEmailTaken):
			v.Alert = "An account with this email already exists. Sign in instead."
			p.render(w, r, http.StatusConflict, "signup", v, target)
		case errors.Is(err, authority.ErrEmailNotVerified):
			// Verification required: the same answer whether or not the
			// email was registered.
			v.Alert = "Check your inbox: we sent a link to confirm your email address, then sign in."
			p.render(w, r, http.StatusAccepted, "login", v, target)
		default:
			p.renderFailure(w, r, err)
		}
		return
	}
	p.signedIn(w, r, sess, u, cookie, authz)
}

func fieldLabel(field string) string {
	switch field {
	case "email":
		return "Email"
	case "password":
		return "Password"
	case "name":
		return "Name"
	}
	return field
}

// handleAccount shows the signed-in user's own account page; without a
// session it sends the browser to sign in.
func (p *Pages) handleAccount(w http.ResponseWriter, r *http.Request) {
	sess, u, err := p.session(r)
	if noSession(err) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	notice := ""
	switch r.URL.Query().Get("done") {
	case "consent-revoked":
		notice = "Access revoked. The application will ask again next time."
	case "password-changed":
		notice = "Your password is changed. Your other sessions were signed out."
	case "session-ended":
		notice = "The session is signed out."
	case "passkey-added":
		notice = "Your passkey is added. You can sign in with it."
	case "passkey-renamed":
		notice = "The passkey is renamed."
	case "passkey-removed":
		notice = "The passkey is removed."
	case "totp-removed":
		notice = "Your authenticator and recovery codes are removed."
	case "upstream-linked":
		notice = "The account is linked. You can sign in with it from now on."
	case "upstream-already-linked":
		notice = "That account was already linked to yours. Nothing changed."
	case "upstream-unlinked":
		notice = "The account is unlinked. It no longer signs you in here."
	case "verification-sent":
		notice = "A new confirmation link is on its way to " + u.Email + ". It works for " + humanDuration(account.VerifyTokenTTL) + "."
	}
	p.renderAccount(w, r, sess, u, http.StatusOK, "", notice)
}

// handleRevokeConsent takes back the consent given to a client, from the
// account page.
func (p *Pages) handleRevokeConsent(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	_, u, err := p.session(r)
	if noSession(err) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	err = p.oidc.RevokeConsent(r.Context(), u.ID, r.PostFormValue("client_id"), p.meta(r))
	if err != nil && !errors.Is(err, authority.ErrNotFound) {
		p.renderFailure(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=consent-revoked", http.StatusSeeOther)
}
