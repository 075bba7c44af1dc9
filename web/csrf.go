package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// CSRF protection is a double-submit token: a random value in an
// HttpOnly, SameSite=Lax cookie, repeated in a hidden field of every form.
// A post whose field does not match its cookie is refused before it
// changes anything; a cross-site page can neither read the cookie nor set
// it. Posts from another origin (Origin or Sec-Fetch-Site) are refused
// too.

const csrfField = "csrf_token"

func (p *Pages) csrfCookieName() string {
	if p.secure {
		return "__Host-sigil_csrf"
	}
	return "sigil_csrf"
}

// csrfToken returns the request's CSRF token, setting a new cookie when it
// has none.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(p.csrfCookieName()); err == nil && validToken(c.Value) {
		return c.Value
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: p.csrfCookieName(), Value: tok, Path: "/", HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode})
	// The token must also be what this same request's form carries.
	r.AddCookie(&http.Cookie{Name: p.csrfCookieName(), Value: tok})
	return tok
}

// checkCSRF reports whether a form post carries the token of its cookie
// and comes from this origin.
func (p *Pages) checkCSRF(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !sameOrigin(o, p.cfg.Issuer) {
		return false
	}
	c, err := r.Cookie(p.csrfCookieName())
	if err != nil || !validToken(c.Value) {
		return false
	}
	field := r.PostFormValue(csrfField)
	return subtle.ConstantTimeCompare([]byte(field), []byte(c.Value)) == 1
}

// refuseCSRF answers a post that failed the CSRF check.
func (p *Pages) refuseCSRF(w http.ResponseWriter, r *http.Request) {
	p.renderError(w, r, http.StatusForbidden, "Form expired",
		"This form could not be verified: it may have expired or come from another site. Go back, reload the page and try again.", "csrf")
}

func validToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func sameOrigin(origin, issuer string) bool {
	o, err1 := url.Parse(origin)
	i, err2 := url.Parse(issuer)
	return err1 == nil && err2 == nil && strings.EqualFold(o.Scheme, i.Scheme) && strings.EqualFold(o.Host, i.Host)
}

// parsePost reads a form post of at most 64 KiB.
func parsePost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return r.ParseForm()
}
