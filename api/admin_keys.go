package api

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/keys"
)

// keyView is a signing key as the admin API shows it: never the private
// half. Times are RFC 3339 in UTC, null while unset.
type keyView struct {
	KID         string     `json:"kid"`
	Alg         keys.Alg   `json:"alg"`
	State       keys.State `json:"state"`
	CreatedAt   *time.Time `json:"createdAt"`
	ActivatedAt *time.Time `json:"activatedAt"`
	RetiredAt   *time.Time `json:"retiredAt"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
}

func viewOf(r keys.Record) keyView {
	t := func(v time.Time) *time.Time {
		if v.IsZero() {
			return nil
		}
		u := v.UTC()
		return &u
	}
	return keyView{
		KID: r.KID, Alg: r.Alg, State: r.State,
		CreatedAt: t(r.CreatedAt), ActivatedAt: t(r.ActivatedAt), RetiredAt: t(r.RetiredAt),
		ExpiresAt: t(r.ExpiresAt), RevokedAt: t(r.RevokedAt),
	}
}

// handleListKeys answers GET /admin/keys with every key, newest first, read
// from the database rather than this instance's snapshot.
func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) {
	recs, err := s.keys.List(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]keyView, 0, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, viewOf(recs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
}

// rotateRequest is the optional body of POST /admin/keys/rotate.
type rotateRequest struct {
	Alg string `json:"alg"`
}

// handleRotateKey answers POST /admin/keys/rotate: a new key of the given
// (or configured) algorithm signs from now on. The body may be empty.
func (s *Server) handleRotateKey(w http.ResponseWriter, r *http.Request) {
	var req rotateRequest
	empty, err := emptyBody(r)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	if !empty {
		if err := decodeJSON(r, &req); err != nil {
			s.writeProblem(w, r, err)
			return
		}
	}
	if req.Alg != "" {
		if _, err := keys.ParseAlg(req.Alg); err != nil {
			s.writeProblem(w, r, invalidField("alg", "must be RS256, EdDSA or ES256"))
			return
		}
	}
	rec, err := s.keys.Rotate(r.Context(), keys.Alg(req.Alg), adminClaims(r.Context()).Subject, "rotated by an administrator")
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"kid": rec.KID, "alg": rec.Alg, "state": rec.State})
}

// handleRevokeKey answers POST /admin/keys/{kid}/revoke. Revoking a key
// that is already revoked changes nothing and answers 200 again.
func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	kid := mux.Vars(r)["kid"]
	rec, err := s.keys.Revoke(r.Context(), kid, adminClaims(r.Context()).Subject, "revoked by an administrator")
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(rec))
}

// emptyBody reports whether the request has no body at all, leaving the
// body readable from the start otherwise.
func emptyBody(r *http.Request) (bool, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return true, nil
	}
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		return false, badJSON("the request body could not be read")
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return false, nil
}
