package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
)

// The hosted pages of passkeys: adding, renaming and removing them on the
// account page, and signing in with one, alone or after the password. The
// ceremonies run in the browser through /static/passkey.js: it fetches the
// options from a begin endpoint (a form post with the CSRF token, answered
// with JSON) and posts the form with the authenticator's answer, which the
// server checks as the REST API does.

var passkeyPaths = []string{"/account/passkeys/begin", "/account/passkeys/add", "/account/passkeys/rename",
	"/account/passkeys/remove", "/login/passkey/begin", "/login/passkey"}

// passkeyScript is the script of the pages that offer passkeys.
const passkeyScript = "/static/passkey.js"

func (p *Pages) registerPasskeyPages(r *mux.Router) {
	r.HandleFunc("/account/passkeys/begin", p.handlePasskeyRegisterBegin).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/add", p.handlePasskeyAdd).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/rename", p.handlePasskeyRename).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/remove", p.handlePasskeyRemove).Methods(http.MethodPost)
	r.HandleFunc("/login/passkey/begin", p.handlePasskeyLoginBegin).Methods(http.MethodPost)
	r.HandleFunc("/login/passkey", p.handlePasskeyLogin).Methods(http.MethodPost)
}

// writeCeremony answers a begin endpoint: the options as JSON, or
// {"error"} with a status the script shows.
func writeCeremony(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"the options could not be encoded"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func ceremonyError(w http.ResponseWriter, err error) {
	var te *authority.ThrottledError
	switch {
	case errors.Is(err, authority.ErrInvalidCredentials):
		writeCeremony(w, http.StatusUnauthorized, map[string]string{"error": "The password is not right; no passkey was added."})
	case errors.As(err, &te):
		secs := retrySeconds(te.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeCeremony(w, http.StatusTooManyRequests, map[string]string{"error": "Too many attempts: too many wrong passwords for this account. Please wait " + humanSeconds(secs) + " and try again."})
	case errors.Is(err, mfa.ErrWebAuthnUnavailable):
		writeCeremony(w, http.StatusServiceUnavailable, map[string]string{"error": "Passkeys are not available on this server."})
	case errors.Is(err, mfa.ErrInvalidToken):
		writeCeremony(w, http.StatusUnauthorized, map[string]string{"error": "This sign-in expired. Please sign in again."})
	case errors.Is(err, mfa.ErrNoWebAuthn):
		writeCeremony(w, http.StatusConflict, map[string]string{"error": "This account has no passkey."})
	case errors.Is(err, authority.ErrUnavailable), errors.Is(err, authority.ErrOverloaded):
		w.Header().Set("Retry-After", "5")
		writeCeremony(w, http.StatusServiceUnavailable, map[string]string{"error": "The service is busy. Try again in a few seconds."})
	default:
		writeCeremony(w, http.StatusInternalServerError, map[string]string{"error": "The passkey could not be started."})
	}
}

// ceremonyPost checks a begin post: the form and its CSRF token.
func (p *Pages) ceremonyPost(w http.ResponseWriter, r *http.Request) bool {
	if err := parsePost(w, r); err != nil {
		writeCeremony(w, http.StatusBadRequest, map[string]string{"error": "The request could not be read."})
		return false
	}
	if !p.checkCSRF(r) {
		writeCeremony(w, http.StatusForbidden, map[string]string{"error": "This page expired. Reload it and try again."})
		return false
	}
	return true
}

func (p *Pages) handlePasskeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	if !p.ceremonyPost(w, r) {
		return
	}
	sess, u, err := p.session(r)
	if err != nil {
		if noSession(err) {
			writeCeremony(w, http.StatusUnauthorized, map[string]string{"error": "Your session ended. Sign in again."})
			return
		}
		ceremonyError(w, err)
		return
	}
	id, creation, err := p.factors.BeginWebAuthnRegistration(r.Context(), u.ID, reauth(r, sess, "password"), p.meta(r))
	if errors.Is(err, authority.ErrSignInNotRecent) {
		writeCeremony(w, http.StatusUnauthorized, map[string]string{"error": signInAgainAlert("adding a passkey")})
		return
	}
	if err != nil {
		ceremonyError(w, err)
		return
	}
	writeCeremony(w, http.StatusOK, map[string]any{"ceremonyId": id, "publicKey": creation.Response})
}

// handlePasskeyAdd stores the passkey the script created.
func (p *Pages) handlePasskeyAdd(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	cred := r.PostFormValue("credential")
	if cred == "" {
		p.renderAccount(w, r, sess, u, http.StatusUnprocessableEntity, "Adding a passkey needs JavaScript and a browser that supports passkeys.", "")
		return
	}
	_, err := p.factors.FinishWebAuthnRegistration(r.Context(), u.ID, r.PostFormValue("ceremony_id"), r.PostFormValue("name"), []byte(cred), p.meta(r))
	var ve *authority.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/account?done=passkey-added", http.StatusSeeOther)
	case errors.As(err, &ve):
		p.renderAccount(w, r, sess, u, http.StatusUnprocessableEntity, "The passkey's name "+ve.Reason+".", "")
	case errors.Is(err, mfa.ErrInvalidCeremony):
		p.renderAccount(w, r, sess, u, http.StatusBadRequest, "Adding the passkey took too long or was already done. Try again.", "")
	case errors.Is(err, mfa.ErrWebAuthnRejected):
		p.renderAccount(w, r, sess, u, http.StatusUnprocessableEntity, "The passkey's answer could not be verified; it was not added.", "")
	case errors.Is(err, authority.ErrConflict):
		p.renderAccount(w, r, sess, u, http.StatusConflict, "This passkey is already registered.", "")
	default:
		p.renderFailure(w, r, err)
	}
}

func (p *Pages) handlePasskeyRename(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	_, err := p.factors.RenameWebAuthnCredential(r.Context(), u.ID, r.PostFormValue("credential_id"), r.PostFormValue("name"), p.meta(r))
	var ve *authority.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/account?done=passkey-renamed", http.StatusSeeOther)
	case errors.As(err, &ve):
		p.renderAccount(w, r, sess, u, http.StatusUnprocessableEntity, "The passkey's name "+ve.Reason+".", "")
	case errors.Is(err, authority.ErrNotFound):
		p.renderAccount(w, r, sess, u, http.StatusNotFound, "That passkey is not on your account.", "")
	default:
		p.renderFailure(w, r, err)
	}
}

func (p *Pages) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	sess, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	err := p.factors.RemoveWebAuthnCredential(r.Context(), u.ID, r.PostFormValue("credential_id"), reauth(r, sess, "password"), p.meta(r))
	switch {
	case err == nil:
		http.Redirect(w, r, "/account?done=passkey-removed", http.StatusSeeOther)
	case errors.Is(err, authority.ErrSignInNotRecent):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, signInAgainAlert("removing a passkey"), "")
	case errors.Is(err, authority.ErrInvalidCredentials):
		p.renderAccount(w, r, sess, u, http.StatusUnauthorized, "The password is not right; the passkey was not removed.", "")
	case errors.Is(err, authority.ErrNotFound):
		p.renderAccount(w, r, sess, u, http.StatusNotFound, "That passkey is not on your account.", "")
	default:
		p.renderFailure(w, r, err)
	}
}

// handlePasskeyLoginBegin starts a sign-in: with the mfa_token of the
// second-factor step, the user's passkeys; without, any passkey of this
// site (discoverable, user verification required).
func (p *Pages) handlePasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	if !p.ceremonyPost(w, r) {
		return
	}
	if p.hooks.Limiter != nil {
		if ok, wait := p.hooks.Limiter.Allow(r); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
			writeCeremony(w, http.StatusTooManyRequests, map[string]string{"error": "Too many requests from your network. Please wait and try again."})
			return
		}
	}
	id, assertion, err := p.factors.BeginWebAuthnLogin(r.Context(), r.PostFormValue("mfa_token"))
	if err != nil {
		ceremonyError(w, err)
		return
	}
	writeCeremony(w, http.StatusOK, map[string]any{"ceremonyId": id, "publicKey": assertion.Response})
}

// handlePasskeyLogin checks the answer of a passkey sign-in and goes on
// as a sign-in does.
func (p *Pages) handlePasskeyLogin(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	authz := r.PostFormValue("authz")
	mfaToken := r.PostFormValue("mfa_token")
	v, target, ok := p.authzView(w, r, authz)
	if !ok {
		return
	}
	// A failure of the second factor stays on its step; of a passkey
	// sign-in, on the sign-in page.
	again := func(status int, alert string) {
		v.Alert = alert
		if mfaToken != "" {
			v.Data = map[string]any{"MFAToken": mfaToken, "Methods": []string{mfa.MethodWebAuthn}, "LinkTicket": r.PostFormValue("link_ticket")}
			p.render(w, r, status, "mfa", v, target)
			return
		}
		p.render(w, r, status, "login", v, target)
	}
	cred := r.PostFormValue("credential")
	if cred == "" {
		again(http.StatusUnprocessableEntity, "Signing in with a passkey needs JavaScript and a browser that supports passkeys.")
		return
	}
	if p.hooks.Limiter != nil {
		if ok, wait := p.hooks.Limiter.Allow(r); !ok {
			p.refuseThrottled(w, r, v, wait, "Too many requests from your network. Please wait and try again.", target)
			return
		}
	}
	current := p.currentSession(r)
	u, amr, err := p.factors.WebAuthnSignIn(r.Context(), mfaToken, r.PostFormValue("ceremony_id"), []byte(cred), p.meta(r))
	var sess oidc.BrowserSession
	var cookie string
	if err == nil {
		sess, u, cookie, err = p.oidc.StartSession(r.Context(), u, amr, p.meta(r), current)
	}
	p.hooks.LoginResult(err)
	if err != nil {
		var te *authority.ThrottledError
		switch {
		case errors.Is(err, mfa.ErrWebAuthnRejected):
			again(http.StatusUnauthorized, "That passkey is not registered for an account here, or its answer could not be verified.")
		case errors.Is(err, mfa.ErrClonedAuthenticator):
			again(http.StatusUnauthorized, "That passkey was refused: it looks copied to another device. Contact your administrator.")
		case errors.Is(err, mfa.ErrInvalidCeremony):
			again(http.StatusBadRequest, "Signing in with the passkey took too long. Try again.")
		case errors.Is(err, mfa.ErrInvalidToken):
			v.Alert = "This sign-in expired or saw too many failures. Please sign in again."
			p.render(w, r, http.StatusUnauthorized, "login", v, target)
		case errors.As(err, &te):
			p.refuseThrottled(w, r, v, te.RetryAfter, "Too many failed attempts for this account.", target)
		case errors.Is(err, authority.ErrAccountLocked):
			again(http.StatusForbidden, "This account is locked. Contact your administrator.")
		case errors.Is(err, authority.ErrEmailNotVerified):
			again(http.StatusForbidden, "Confirm your email address first: a new link has been sent to it.")
		default:
			p.renderFailure(w, r, err)
		}
		return
	}
	if mfaToken != "" {
		p.linkAfterSecondFactor(w, r, u)
	}
	p.signedIn(w, r, sess, u, cookie, authz)
}
