package web

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

// The first-run set-up page: the link `serve` prints while no
// administrator exists (authority/setup.go) opens a form that creates the
// first administrator, signs them in and opens the console.

// registerSetup adds /setup.
func (p *Pages) registerSetup(r *mux.Router) {
	r.HandleFunc("/setup", p.handleSetupPage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/setup", p.handleSetup).Methods(http.MethodPost)
}

// handleSetupPage shows the form for a good set-up link, and a page that
// says why for any other (no form).
func (p *Pages) handleSetupPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if err := p.auth.CheckSetupToken(r.Context(), token); err != nil {
		p.refuseSetup(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "setup", view{Data: map[string]any{"Token": token}})
}

// handleSetup creates the first administrator, signs them in and goes to
// the console. Every field is checked before any error is shown.
func (p *Pages) handleSetup(w http.ResponseWriter, r *http.Request) {
	if !p.postForm(w, r) {
		return
	}
	token := r.PostFormValue("token")
	v := view{Email: r.PostFormValue("email"), Data: map[string]any{"Token": token}}
	if p.limited(w, r, "setup", v) {
		return
	}
	in := authority.Signup{Email: r.PostFormValue("email"), Password: r.PostFormValue("password")}
	errs := signupErrors(in)
	if _, bad := errs["password"]; !bad && r.PostFormValue("confirm") != in.Password {
		errs["confirm"] = "The two passwords do not match."
	}
	if len(errs) > 0 {
		if err := p.auth.CheckSetupToken(r.Context(), token); err != nil {
			p.refuseSetup(w, r, err)
			return
		}
		v.setErrors(errs, "email", "password", "confirm")
		p.render(w, r, http.StatusUnprocessableEntity, "setup", v)
		return
	}
	u, err := p.auth.CreateFirstAdmin(r.Context(), token, in, p.meta(r))
	var ve *authority.ValidationError
	switch {
	case errors.Is(err, authority.ErrSetupLinkInvalid) || errors.Is(err, authority.ErrSetupDone):
		p.refuseSetup(w, r, err)
		return
	case errors.As(err, &ve):
		v.setErrors(fieldErrors(err), ve.Field)
		p.render(w, r, http.StatusUnprocessableEntity, "setup", v)
		return
	case errors.Is(err, authority.ErrEmailTaken):
		v.setErrors(map[string]string{"email": "An account with this email exists already; choose another email."}, "email")
		p.render(w, r, http.StatusConflict, "setup", v)
		return
	case err != nil:
		p.renderFailure(w, r, err)
		return
	}
	sess, _, cookie, err := p.oidc.StartSession(r.Context(), u, []string{"pwd"}, p.meta(r), nil)
	if err != nil {
		// The administrator exists; signing in is all that failed.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	p.setSession(w, sess, cookie)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// refuseSetup shows why a set-up link does not work, and the way
// forward, without the form.
func (p *Pages) refuseSetup(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, authority.ErrSetupDone):
		p.render(w, r, http.StatusGone, "setup", view{Data: map[string]any{"Done": true}})
	case errors.Is(err, authority.ErrSetupLinkInvalid):
		p.render(w, r, http.StatusNotFound, "setup", view{Alert: "The link is unknown, already used or more than an hour old.", Data: map[string]any{"Dead": true}})
	default:
		p.renderFailure(w, r, err)
	}
}
