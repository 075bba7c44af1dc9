package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/skip2/go-qrcode"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
)

// The hosted pages of TOTP: enrolment from the account page (the QR code
// and the secret, a first code, the ten recovery codes shown once),
// removal, new recovery codes, and the enrolment that a sign-in held back
// by SIGIL_MFA_REQUIRED_ROLES goes through before its session opens.

var totpPaths = []string{"/account/mfa/totp", "/account/mfa/totp/confirm", "/account/mfa/totp/remove",
	"/account/mfa/recovery-codes", "/login/mfa/enroll"}

func (p *Pages) registerTOTPPages(r *mux.Router) {
	r.HandleFunc("/account/mfa/totp", p.handleEnrolTOTP).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/totp/confirm", p.handleConfirmTOTP).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/totp/remove", p.handleRemoveTOTP).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/recovery-codes", p.handleRegenerateCodes).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa/enroll", p.handleForcedEnrol).Methods(http.MethodPost)
}

// qrDataURL renders uri as a QR code PNG in a data: URL, which the pages'
// CSP allows as an image (img-src 'self' data:), so no other request
// carries the secret.
func qrDataURL(uri string) (template.URL, error) {
	png, err := qrcode.Encode(uri, qrcode.Medium, 256)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// renderEnrol shows the enrolment page of e: the QR code, the secret as
// text, and the form of the first code posting to action, which carries
// the enrolment's Ref (so that a wrong first code shows the same page
// again) and, when the enrolment is part of a sign-in, its mfa_token
// (v.Hidden) and authz.
func (p *Pages) renderEnrol(w http.ResponseWriter, r *http.Request, status int, e mfa.TOTPEnrolment, action string, v view, target string) {
	qr, err := qrDataURL(e.URI)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	v.Data = map[string]any{"QR": qr, "Secret": e.Secret, "URI": template.URL(e.URI), "Action": action, "Ref": e.Ref()}
	p.render(w, r, status, "enroll_totp", v, target)
}

// renderRecoveryCodes shows new recovery codes, this once, with a way on.
func (p *Pages) renderRecoveryCodes(w http.ResponseWriter, r *http.Request, codes []string, next string, v view, target string) {
	v.Data = map[string]any{"Codes": codes, "Next": next}
	p.render(w, r, http.StatusOK, "recovery_codes", v, target)
}

// handleEnrolTOTP starts an enrolment from the account page, with the
// user's password (a session alone adds no second factor).
func (p *Pages) handleEnrolTOTP(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	e, err := p.factors.EnrollTOTP(r.Context(), u.ID, reauth(r, sess, "password"), p.meta(r))
	switch {
	case err == nil:
		p.renderEnrol(w, r, http.StatusOK, e, "/account/mfa/totp/confirm", view{}, "")
	case errors.Is(err, authority.ErrSignInNotRecent):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, signInAgainAlert("enrolling an authenticator app"), "")
	case errors.Is(err, authority.ErrInvalidCredentials):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, "The password is not right; no authenticator was enrolled.", "")
	case errors.Is(err, mfa.ErrTOTPEnrolled):
		p.renderAccount(w, r, sess, u, http.StatusConflict, "An authenticator is already enrolled. Remove it first to enrol another.", "")
	case errors.Is(err, mfa.ErrUnavailable):
		p.renderAccount(w, r, sess, u, http.StatusServiceUnavailable, "Second factors are not configured on this server.", "")
	default:
		p.renderFailure(w, r, err)
	}
}

// handleConfirmTOTP checks the first code of the account page's
// enrolment and shows the recovery codes.
func (p *Pages) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	codes, err := p.factors.ConfirmTOTP(r.Context(), u.ID, r.PostFormValue("code"), p.meta(r))
	if err == nil {
		p.renderRecoveryCodes(w, r, codes, "/account", view{Notice: "Your authenticator is enrolled."}, "")
		return
	}
	var te *authority.ThrottledError
	var ve *authority.ValidationError
	switch {
	case errors.Is(err, mfa.ErrInvalidCode), errors.As(err, &ve):
		e, perr := p.factors.PendingTOTP(r.Context(), u.ID, r.PostFormValue("enrolment"))
		if perr != nil {
			p.renderAccount(w, r, sess, u, http.StatusConflict, "That code is not right. Start the enrolment again.", "")
			return
		}
		p.renderEnrol(w, r, http.StatusUnprocessableEntity, e, "/account/mfa/totp/confirm",
			view{Alert: "That code is not right. Enter the 6 digits the app shows now."}, "")
	case errors.Is(err, mfa.ErrNoTOTP):
		p.renderAccount(w, r, sess, u, http.StatusConflict, "There is no enrolment waiting for a code. Start again.", "")
	case errors.As(err, &te):
		p.renderAccount(w, r, sess, u, http.StatusTooManyRequests, "Too many wrong codes for this account. Try again in "+humanSeconds(max(1, int(te.RetryAfter.Seconds())))+".", "")
	default:
		p.renderFailure(w, r, err)
	}
}

// handleRemoveTOTP removes the authenticator and recovery codes after a
// current code.
func (p *Pages) handleRemoveTOTP(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	err := p.factors.RemoveTOTP(r.Context(), u.ID, r.PostFormValue("code"), p.meta(r))
	if err == nil {
		http.Redirect(w, r, "/account?done=totp-removed", http.StatusSeeOther)
		return
	}
	p.refuseFactorChange(w, r, sess, u, err, "The authenticator was not removed")
}

// handleRegenerateCodes replaces the recovery codes after a current code.
func (p *Pages) handleRegenerateCodes(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	codes, err := p.factors.RegenerateRecoveryCodes(r.Context(), u.ID, r.PostFormValue("code"), p.meta(r))
	if err == nil {
		p.renderRecoveryCodes(w, r, codes, "/account", view{Notice: "New recovery codes; the old ones no longer work."}, "")
		return
	}
	p.refuseFactorChange(w, r, sess, u, err, "No new recovery codes were made")
}

func (p *Pages) refuseFactorChange(w http.ResponseWriter, r *http.Request, sess oidc.BrowserSession, u authority.User, err error, what string) {
	var te *authority.ThrottledError
	var ve *authority.ValidationError
	switch {
	case errors.Is(err, mfa.ErrInvalidCode), errors.As(err, &ve):
		p.renderAccount(w, r, sess, u, http.StatusUnprocessableEntity, what+": the code is wrong or was already used.", "")
	case errors.As(err, &te):
		p.renderAccount(w, r, sess, u, http.StatusTooManyRequests, what+": too many wrong codes. Try again in "+humanSeconds(max(1, int(te.RetryAfter.Seconds())))+".", "")
	default:
		p.renderFailure(w, r, err)
	}
}

// renderForcedEnrol starts the enrolment of a sign-in held back because
// the user's roles require a second factor.
func (p *Pages) renderForcedEnrol(w http.ResponseWriter, r *http.Request, v view, token, target string) {
	e, err := p.factors.EnrollForSignIn(r.Context(), token, p.meta(r))
	switch {
	case err == nil:
		v.Hidden = []hiddenField{{"mfa_token", token}}
		v.Notice = "Your account needs a second factor before you can sign in. Enrol an authenticator app now."
		p.renderEnrol(w, r, http.StatusOK, e, "/login/mfa/enroll", v, target)
	case errors.Is(err, mfa.ErrUnavailable):
		p.renderError(w, r, http.StatusForbidden, "Second factor required",
			"Your account must have a second factor before you can sign in, and this server cannot enrol one. Contact your administrator.", "access_denied")
	default:
		p.renderFailure(w, r, err)
	}
}

// handleForcedEnrol confirms the enrolment of a held-back sign-in, opens
// the session and shows the recovery codes with the way on.
func (p *Pages) handleForcedEnrol(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	authz := r.PostFormValue("authz")
	v, target, ok := p.authzView(w, r, authz)
	if !ok {
		return
	}
	current := p.currentSession(r)
	token := r.PostFormValue("mfa_token")
	u, amr, codes, err := p.factors.CompleteEnrolledSignIn(r.Context(), token, r.PostFormValue("code"), p.meta(r))
	var sess oidc.BrowserSession
	var cookie string
	if err == nil {
		sess, _, cookie, err = p.oidc.StartSession(r.Context(), u, amr, p.meta(r), current)
	}
	if err != nil {
		var te *authority.ThrottledError
		var ve *authority.ValidationError
		switch {
		case errors.Is(err, mfa.ErrInvalidCode), errors.As(err, &ve):
			e, perr := p.factors.PendingForSignIn(r.Context(), token)
			if perr != nil {
				v.Alert = "This sign-in expired. Please sign in again."
				p.render(w, r, http.StatusUnauthorized, "login", v, target)
				return
			}
			v.Hidden = []hiddenField{{"mfa_token", token}}
			v.Alert = "That code is not right. Enter the 6 digits the app shows now."
			p.renderEnrol(w, r, http.StatusUnprocessableEntity, e, "/login/mfa/enroll", v, target)
		case errors.Is(err, mfa.ErrInvalidToken), errors.Is(err, mfa.ErrNoTOTP):
			v.Alert = "This sign-in expired. Please sign in again."
			p.render(w, r, http.StatusUnauthorized, "login", v, target)
		case errors.As(err, &te):
			p.refuseThrottled(w, r, v, te.RetryAfter, "Too many wrong codes for this account.", target)
		default:
			p.renderFailure(w, r, err)
		}
		return
	}
	if cookie != "" {
		p.setSession(w, sess, cookie)
	}
	next := "/account"
	if authz != "" {
		next = "/oauth2/authorize?" + authz
	}
	v.Notice = "Your authenticator is enrolled and you are signed in."
	p.renderRecoveryCodes(w, r, codes, next, v, target)
}
