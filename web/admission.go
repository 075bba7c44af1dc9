package web

import (
	"bytes"
	"net/http"

	"github.com/sigil-auth/sigil/authority"
)

// admitHashing guards the forms that hash a password (POST /login, POST
// /signup) as the API guards /auth/login and /auth/signup: before the
// form is read, the request takes a place among those the hashing slots
// and their queue can serve (authority.Service.AdmitHash), which the API's
// logins share. When none is free the answer is the busy page (503,
// Retry-After), held for the queue wait before it is written
// (Hooks.RefuseOverloaded). Without this a refused post read its form,
// checked CSRF and rendered the page at once, and a client retrying at
// once turned the refusals into a load of their own.
func (p *Pages) admitHashing(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		leave, ok := p.auth.AdmitHash()
		if ok {
			defer leave()
			next(w, r)
			return
		}
		rec := &pageRecorder{header: w.Header()}
		p.renderFailure(rec, r, authority.ErrOverloaded)
		if p.hooks.RefuseOverloaded == nil {
			w.WriteHeader(rec.status)
			w.Write(rec.body.Bytes())
			return
		}
		p.hooks.RefuseOverloaded(w, r, rec.body.Bytes())
	}
}

// pageRecorder keeps a rendered page's status and body; its headers are
// the real response's.
type pageRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *pageRecorder) Header() http.Header { return rec.header }

func (rec *pageRecorder) WriteHeader(status int) { rec.status = status }

func (rec *pageRecorder) Write(b []byte) (int, error) { return rec.body.Write(b) }
