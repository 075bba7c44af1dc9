package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// The device pages (RFC 8628 §3.3): /device asks for the code a
// command-line tool shows, the user signs in if needed (the hosted
// sign-in, which comes back here), and a confirmation naming the client,
// the resource and the scopes is always shown before anything is
// granted.

func (p *Pages) registerDevicePages(r *mux.Router) {
	r.HandleFunc("/device", p.handleDevicePage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/device", p.handleDeviceCode).Methods(http.MethodPost)
	r.HandleFunc("/device/confirm", p.handleDeviceConfirm).Methods(http.MethodPost)
}

var devicePaths = []string{"/device", "/device/confirm"}

// handleDevicePage shows the code entry form, pre-filled from the
// user_code of verification_uri_complete: the user still submits it, and
// then confirms.
func (p *Pages) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	if len(code) > 64 {
		code = ""
	}
	p.render(w, r, http.StatusOK, "device", view{Data: map[string]any{"UserCode": code}})
}

// handleDeviceCode looks up the code entered (throttled per address),
// then shows the sign-in page or the confirmation.
func (p *Pages) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	entered := r.PostFormValue("user_code")
	if len(entered) > 64 {
		entered = ""
	}
	again := func(status int, alert string) {
		p.render(w, r, status, "device", view{Alert: alert, Data: map[string]any{"UserCode": entered}})
	}
	if p.hooks.Limiter != nil {
		if ok, wait := p.hooks.Limiter.Allow(r); !ok {
			secs := retrySeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			again(http.StatusTooManyRequests, "Too many requests from your network. Try again in "+humanSeconds(secs)+".")
			return
		}
	}
	d, client, err := p.oidc.LookupUserCode(r.Context(), entered, p.meta(r))
	var te *authority.ThrottledError
	switch {
	case errors.Is(err, oidc.ErrUserCodeMalformed):
		again(http.StatusUnprocessableEntity, "Enter the 8 letters your device shows, like BCDF-GHJK.")
		return
	case errors.Is(err, oidc.ErrUserCodeWrong):
		again(http.StatusNotFound, "That code is not right. Check the code on your device and try again.")
		return
	case errors.As(err, &te):
		secs := retrySeconds(te.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		again(http.StatusTooManyRequests, "Too many wrong codes from your network. Try again in "+humanSeconds(secs)+".")
		return
	case err != nil:
		p.renderDeviceError(w, r, err)
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
	p.deviceStep(w, r, d, client, current, u)
}

// deviceStep shows the sign-in page or the confirmation of d.
func (p *Pages) deviceStep(w http.ResponseWriter, r *http.Request, d oidc.DeviceAuthorization, client authority.Client, sess *oidc.BrowserSession, u authority.User) {
	step, err := p.oidc.DeviceStep(r.Context(), d, client, sess)
	if err != nil {
		p.renderDeviceError(w, r, err)
		return
	}
	if step == oidc.StepLogin {
		email := ""
		if sess != nil {
			email = u.Email
		}
		p.render(w, r, http.StatusOK, "login", view{Authz: oidc.DeviceAuthz(d.ID), ClientName: client.Name, Email: email})
		return
	}
	p.renderDeviceConfirm(w, r, d, client, *sess, u)
}

// continueDevice goes on with the device authorization a sign-in form
// carried, once the user is signed in.
func (p *Pages) continueDevice(w http.ResponseWriter, r *http.Request, id string, sess oidc.BrowserSession, u authority.User) {
	d, client, err := p.oidc.PendingDevice(r.Context(), id)
	if err != nil {
		p.renderDeviceError(w, r, err)
		return
	}
	p.deviceStep(w, r, d, client, &sess, u)
}

// renderDeviceConfirm shows the confirmation, bound by its step ticket to
// this device authorization, session and sign-in.
func (p *Pages) renderDeviceConfirm(w http.ResponseWriter, r *http.Request, d oidc.DeviceAuthorization, client authority.Client, sess oidc.BrowserSession, u authority.User) {
	ticket, err := p.oidc.DeviceTicket(d, sess)
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	req := oidc.DeviceRequest(d)
	scopes := make([]scopeView, 0, len(req.Scopes))
	for _, sc := range req.Scopes {
		scopes = append(scopes, scopeView{Name: sc, Description: oidc.ScopeDescription(sc)})
	}
	data := map[string]any{"DeviceID": d.ID, "Refresh": client.HasGrant(authority.GrantRefreshToken)}
	if d.Resource != "" {
		res, err := p.oidc.ResourceByURI(r.Context(), d.Resource)
		if err != nil {
			p.renderFailure(w, r, err)
			return
		}
		data["Resource"] = res
	}
	p.render(w, r, http.StatusOK, "device_confirm", view{ClientName: client.Name, User: u, Scopes: scopes,
		Hidden: []hiddenField{{stepField, ticket}}, Data: data})
}

// handleDeviceConfirm records the answer of the confirmation page. The
// sign-in is decided again; a post that is not this page's (its ticket)
// shows the confirmation anew and records nothing.
func (p *Pages) handleDeviceConfirm(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	id := r.PostFormValue("device")
	var allow bool
	switch r.PostFormValue("consent") {
	case "allow":
		allow = true
	case "deny":
	default:
		p.renderError(w, r, http.StatusBadRequest, "Bad request", "Choose Allow or Deny.", "invalid_request")
		return
	}
	if _, ok := oidc.DeviceAuthzID(oidc.DeviceAuthz(id)); !ok {
		// Not an id Sigil issues: never looked up.
		p.renderDeviceError(w, r, oidc.ErrUserCodeExpired)
		return
	}
	sess, u, err := p.session(r)
	if noSession(err) {
		p.continueDeviceSignedOut(w, r, id)
		return
	}
	if err != nil {
		p.renderFailure(w, r, err)
		return
	}
	step, err := p.oidc.DecideDevice(r.Context(), r.PostFormValue(stepField), id, allow, sess, p.meta(r))
	switch {
	case err != nil:
		p.renderDeviceError(w, r, err)
	case step == oidc.StepIssue:
		p.render(w, r, http.StatusOK, "device_done", view{ClientName: "", Data: map[string]any{"Allowed": allow}})
	default:
		p.continueDevice(w, r, id, sess, u)
	}
}

// continueDeviceSignedOut answers a confirmation posted after the session
// ended: the sign-in page, which comes back to the confirmation.
func (p *Pages) continueDeviceSignedOut(w http.ResponseWriter, r *http.Request, id string) {
	d, client, err := p.oidc.PendingDevice(r.Context(), id)
	if err != nil {
		p.renderDeviceError(w, r, err)
		return
	}
	p.deviceStep(w, r, d, client, nil, authority.User{})
}

// renderDeviceError explains why a device authorization cannot go on.
func (p *Pages) renderDeviceError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, oidc.ErrUserCodeExpired):
		p.renderError(w, r, http.StatusGone, "This code has expired", "Start again on your device to get a new code.", "expired_token")
	case errors.Is(err, oidc.ErrUserCodeUsed):
		p.renderError(w, r, http.StatusConflict, "This code was already used", "The request was already allowed or denied. Start again on your device if you need a new code.", "invalid_grant")
	case errors.Is(err, oidc.ErrDeviceNeedsFactor):
		p.renderError(w, r, http.StatusForbidden, "A second factor is required", "This application requires a sign-in with a second factor. Add one on your account page first.", "access_denied")
	default:
		p.renderFailure(w, r, err)
	}
}
