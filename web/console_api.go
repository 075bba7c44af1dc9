package web

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// apiAnswer is what the in-process REST API answered.
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

// problem returns the detail of a problem+json answer (its title when it
// has no detail).
func (a apiAnswer) problem() string {
	var p struct{ Title, Detail string }
	if json.Unmarshal(a.body, &p) != nil {
		return http.StatusText(a.status)
	}
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// recorder collects an in-process answer.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}

// callHeaders are the outer request's headers that the inner call keeps:
// the client address headers a trusted proxy sets (for the audit log) and
// the user agent. Cookies and credentials never pass.
var callHeaders = []string{"User-Agent", "X-Forwarded-For", "X-Real-Ip", "Forwarded", "True-Client-Ip", "Cf-Connecting-Ip"}

// call sends one request to the REST API in-process, as the administrator
// whose access token is token ("" for none), from the outer request's
// client address.
func (c *console) call(r *http.Request, token, method, path, ctype string, body []byte) apiAnswer {
	in, err := http.NewRequestWithContext(r.Context(), method, path, bytes.NewReader(body))
	if err != nil {
		return apiAnswer{status: http.StatusInternalServerError}
	}
	in.RemoteAddr = r.RemoteAddr
	in.Host = r.Host
	for _, h := range callHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			in.Header[h] = v
		}
	}
	if ctype != "" {
		in.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		in.Header.Set("Authorization", "Bearer "+token)
	}
	rec := &recorder{h: http.Header{}}
	c.api.ServeHTTP(rec, in)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return apiAnswer{status: rec.status, header: rec.h, body: rec.buf.Bytes()}
}

// admin calls the admin API as the signed-in administrator, with a JSON
// body when in is not nil.
func (c *console) admin(r consoleRequest, method, path string, in any) apiAnswer {
	var body []byte
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return apiAnswer{status: http.StatusInternalServerError}
		}
		body, ctype = b, "application/json"
	}
	return c.call(r.Request, r.sess.Token, method, path, ctype, body)
}

// get reads an admin API resource into out. When the answer is not 200 it
// answers the page itself (a new sign-in for 401, the refusal for 403, an
// error page otherwise) and returns false.
func (c *console) get(w http.ResponseWriter, r consoleRequest, path string, out any) bool {
	a := c.admin(r, http.MethodGet, path, nil)
	if a.status == http.StatusOK {
		if err := json.NewDecoder(bytes.NewReader(a.body)).Decode(out); err != nil {
			c.p.renderFailure(w, r.Request, err)
			return false
		}
		return true
	}
	c.failed(w, r, a)
	return false
}

// failed answers a page whose API call was refused: 401 (the token
// expired or its key was revoked) signs in again and comes back, 403
// shows the refusal, 404 a not-found page, anything else an error page.
func (c *console) failed(w http.ResponseWriter, r consoleRequest, a apiAnswer) {
	switch a.status {
	case http.StatusUnauthorized:
		back := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			back = "/console/"
		}
		c.setCookie(w, c.sessionCookie(), "", -1)
		c.startSignIn(w, r.Request, back)
	case http.StatusForbidden:
		c.refuse(w, r.Request, r.sess.Email)
	case http.StatusNotFound:
		c.p.renderError(w, r.Request, http.StatusNotFound, "Not found", a.problem(), "not_found")
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "5")
		c.p.renderError(w, r.Request, http.StatusServiceUnavailable, "Temporarily unavailable", a.problem(), "temporarily_unavailable")
	default:
		status := a.status
		if status < 400 {
			status = http.StatusBadGateway
		}
		c.p.renderError(w, r.Request, status, "The request failed", a.problem(), "admin_api")
	}
}

// jsonInto decodes an answer's body, reporting whether it could.
func jsonInto(b []byte, v any) bool { return json.Unmarshal(b, v) == nil }
