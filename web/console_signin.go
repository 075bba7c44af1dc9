package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// startSignIn sends the browser to the authorization endpoint as the
// console's client, with a fresh state and PKCE S256 challenge kept in a
// sealed ten-minute cookie.
func (c *console) startSignIn(w http.ResponseWriter, r *http.Request, back string) {
	flow := consoleFlow{State: randomToken(), Verifier: randomToken(), Return: safeReturn(back)}
	sealed, err := c.seal(consoleFlowPurpose, flow)
	if err != nil {
		c.p.renderFailure(w, r, err)
		return
	}
	c.setCookie(w, c.flowCookie(), sealed, 600)
	sum := sha256.Sum256([]byte(flow.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {authority.ConsoleClientID},
		"redirect_uri":          {c.redirectURI()},
		"scope":                 {"openid " + authority.ScopeAdmin},
		"state":                 {flow.State},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		// An administrator with a second factor signs in with it, even
		// in a browser session that began with the password alone; one
		// without goes on (acr_values asks, it does not demand).
		"acr_values": {oidc.ACRMFA},
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, strings.TrimRight(c.p.cfg.Issuer, "/")+"/oauth2/authorize?"+q.Encode(), http.StatusSeeOther)
}

// safeReturn keeps a post-sign-in destination inside the console.
func safeReturn(back string) string {
	if !strings.HasPrefix(back, "/console/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		return "/console/"
	}
	return back
}

// handleCallback completes the sign-in: it checks iss and state, redeems
// the code with the PKCE verifier at the token endpoint, and opens a
// console session for an administrator. Anyone else is refused with a
// page that says why, and gets no session.
func (c *console) handleCallback(w http.ResponseWriter, r *http.Request) {
	if c.sealer == nil {
		c.p.renderError(w, r, http.StatusServiceUnavailable, "Console unavailable",
			"The admin console needs a key-encryption key to protect its session.", "console_unavailable")
		return
	}
	q := r.URL.Query()
	var flow consoleFlow
	ck, err := r.Cookie(c.flowCookie())
	if err != nil || !c.open(consoleFlowPurpose, ck.Value, &flow) {
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in expired",
			"This sign-in to the console was not started in this browser or took longer than ten minutes. Open /console/ to start again.", "invalid_state")
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 {
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in could not be completed",
			"The answer of the authorization server does not belong to the sign-in this browser started. Open /console/ to start again.", "invalid_state")
		return
	}
	c.setCookie(w, c.flowCookie(), "", -1)
	if iss := q.Get("iss"); iss != c.p.cfg.Issuer {
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in could not be completed",
			"The answer came from another issuer than this Sigil.", "invalid_issuer")
		return
	}
	if e := q.Get("error"); e != "" {
		c.p.renderError(w, r, http.StatusForbidden, "Sign-in was not completed", q.Get("error_description"), e)
		return
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {c.redirectURI()},
		"code_verifier": {flow.Verifier}, "client_id": {authority.ConsoleClientID}}
	ans := c.call(r, "", http.MethodPost, "/oauth2/token", "application/x-www-form-urlencoded", []byte(form.Encode()))
	var tok struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(ans.body, &tok)
	if ans.status != http.StatusOK || tok.AccessToken == "" {
		if ans.status >= 500 {
			c.p.renderError(w, r, http.StatusServiceUnavailable, "Temporarily unavailable", "The token endpoint did not answer. Try again in a few seconds.", "temporarily_unavailable")
			return
		}
		c.p.renderError(w, r, http.StatusBadRequest, "Sign-in could not be completed", tok.ErrorDescription, tok.Error)
		return
	}
	me := c.call(r, tok.AccessToken, http.MethodGet, "/auth/me", "", nil)
	var who struct {
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	}
	if me.status != http.StatusOK || json.Unmarshal(me.body, &who) != nil {
		c.p.renderError(w, r, http.StatusBadGateway, "Sign-in could not be completed", "The signed-in account could not be read.", "server_error")
		return
	}
	if !slices.Contains(who.Roles, "admin") {
		c.refuse(w, r, who.Email)
		return
	}
	sess := consoleSession{Token: tok.AccessToken, Email: who.Email, Expires: time.Now().Unix() + tok.ExpiresIn}
	sealed, err := c.seal(consoleSessionPurpose, sess)
	if err != nil {
		c.p.renderFailure(w, r, err)
		return
	}
	c.setCookie(w, c.sessionCookie(), sealed, int(tok.ExpiresIn))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, flow.Return, http.StatusSeeOther)
}

// refuse tells a signed-in user without the admin role that the console
// is not for them, and how to sign in as someone else.
func (c *console) refuse(w http.ResponseWriter, r *http.Request, email string) {
	c.setCookie(w, c.sessionCookie(), "", -1)
	c.p.render(w, r, http.StatusForbidden, "console_refused", view{Email: email})
}

// handleSignOut ends the console session and hands over to the logout
// page, which ends the browser session too.
func (c *console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if err := parsePost(w, r); err != nil {
		c.p.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", "invalid_request")
		return
	}
	if !c.p.checkCSRF(r) {
		c.p.refuseCSRF(w, r)
		return
	}
	c.setCookie(w, c.sessionCookie(), "", -1)
	http.Redirect(w, r, "/oauth2/logout?client_id="+authority.ConsoleClientID, http.StatusSeeOther)
}
