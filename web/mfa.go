package web

import (
	"errors"
	"net/http"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
)

// renderSecondFactor answers a correct password of a user with a second
// factor (the code step) or of one who must enrol one first; it reports
// false for any other error.
func (p *Pages) renderSecondFactor(w http.ResponseWriter, r *http.Request, v view, err error, target string) bool {
	var req *mfa.RequiredError
	var enr *mfa.EnrollmentRequiredError
	switch {
	case errors.As(err, &req):
		// A link of an upstream identity waits for the factor too.
		link, _ := v.Data["LinkTicket"].(string)
		v.Data = map[string]any{"MFAToken": req.Token, "Methods": req.Methods, "LinkTicket": link}
		p.render(w, r, http.StatusOK, "mfa", v, target)
	case errors.As(err, &enr):
		p.renderForcedEnrol(w, r, v, enr.Token, target)
	default:
		return false
	}
	return true
}

// handleLoginMFA checks the second factor of a sign-in and then goes on as
// handleLogin does after a password.
func (p *Pages) handleLoginMFA(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	authz := r.PostFormValue("authz")
	v, target, ok := p.authzView(w, r, authz)
	if !ok {
		return
	}
	current := p.currentSession(r)
	mfaToken := r.PostFormValue("mfa_token")
	sess, u, cookie, err := p.oidc.CompleteSignIn(r.Context(), mfaToken, r.PostFormValue("code"), p.meta(r), current)
	if err != nil {
		var te *authority.ThrottledError
		var ve *authority.ValidationError
		switch {
		case errors.Is(err, mfa.ErrInvalidCode), errors.As(err, &ve):
			v.Alert = "That code is wrong or was already used."
			v.Data = map[string]any{"MFAToken": mfaToken, "Methods": []string{mfa.MethodTOTP, mfa.MethodRecoveryCode}, "LinkTicket": r.PostFormValue("link_ticket")}
			p.render(w, r, http.StatusUnauthorized, "mfa", v, target)
		case errors.Is(err, mfa.ErrInvalidToken):
			v.Alert = "This sign-in expired or saw too many wrong codes. Please sign in again."
			p.render(w, r, http.StatusUnauthorized, "login", v, target)
		case errors.As(err, &te):
			p.refuseThrottled(w, r, v, te.RetryAfter, "Too many wrong codes for this account.", target)
		default:
			p.renderFailure(w, r, err)
		}
		return
	}
	p.linkAfterSecondFactor(w, r, u)
	p.signedIn(w, r, sess, u, cookie, authz)
}
