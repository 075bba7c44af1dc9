package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"
)

// timeline is GET /admin/keys/timeline as the console reads it.
type timeline struct {
	Keys           []timelineKey `json:"keys"`
	NextRotation   *time.Time    `json:"nextRotation"`
	RotationPeriod string        `json:"rotationPeriod"`
	PublishAhead   string        `json:"publishAhead"`
}

type timelineKey struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	Status      string     `json:"status"`
	Published   bool       `json:"published"`
	CreatedAt   *time.Time `json:"createdAt"`
	ActivatesAt *time.Time `json:"activatesAt"`
	ActivatedAt *time.Time `json:"activatedAt"`
	RetiredAt   *time.Time `json:"retiredAt"`
	LeavesAt    *time.Time `json:"leavesJwksAt"`
	RevokedAt   *time.Time `json:"revokedAt"`
}

// published counts the keys in the JWKS.
func (t timeline) published() int {
	n := 0
	for _, k := range t.Keys {
		if k.Published {
			n++
		}
	}
	return n
}

// registerKeys adds the keys pages: the timeline with rotation and the
// JWKS as served, and revocation behind a confirmation.
func (c *console) registerKeys(r *mux.Router) {
	r.HandleFunc("/console/keys", c.page(c.handleKeys)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/keys/rotate", c.page(c.handleRotate)).Methods(http.MethodPost)
	r.HandleFunc("/console/keys/{kid}/revoke", c.page(c.handleRevokeConfirm)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/keys/{kid}/revoke", c.page(c.handleRevoke)).Methods(http.MethodPost)
}

// jwksView is the JWKS exactly as /.well-known/jwks.json serves it.
type jwksView struct {
	Body         string
	CacheControl string
	ETag         string
	KIDs         []string
}

func (c *console) jwks(r consoleRequest) jwksView {
	a := c.call(r.Request, "", http.MethodGet, "/.well-known/jwks.json", "", nil)
	v := jwksView{CacheControl: a.header.Get("Cache-Control"), ETag: a.header.Get("ETag")}
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, a.body, "", "  ") == nil {
		v.Body = pretty.String()
	} else {
		v.Body = string(a.body)
	}
	if json.Unmarshal(a.body, &set) == nil {
		for _, k := range set.Keys {
			v.KIDs = append(v.KIDs, k.KID)
		}
	}
	return v
}

var keyNotices = map[string]string{
	"rotated": "Rotated: the new key signs from now on; the previous one is retired and stays in the JWKS until the tokens it signed have expired.",
	"revoked": "Revoked: the key left the JWKS, and tokens signed by it no longer verify.",
}

func (c *console) handleKeys(w http.ResponseWriter, r consoleRequest) {
	c.keysPage(w, r, http.StatusOK, keyNotices[r.URL.Query().Get("done")], "")
}

func (c *console) keysPage(w http.ResponseWriter, r consoleRequest, status int, notice, alert string) {
	var tl timeline
	if !c.get(w, r, "/admin/keys/timeline", &tl) {
		return
	}
	active := ""
	for _, k := range tl.Keys {
		if k.Status == "active" {
			active = k.Alg
		}
	}
	c.render(w, r, status, "console_keys", "keys", view{Title: "Keys", Notice: notice, Alert: alert, Data: map[string]any{
		"Timeline": tl, "JWKS": c.jwks(r), "Algs": []string{"RS256", "EdDSA", "ES256"}, "ActiveAlg": active,
	}})
}

func (c *console) handleRotate(w http.ResponseWriter, r consoleRequest) {
	a := c.admin(r, http.MethodPost, "/admin/keys/rotate", map[string]string{"alg": r.PostFormValue("alg")})
	switch {
	case a.status == http.StatusCreated:
		done(w, r.Request, "/console/keys", "rotated")
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest || a.status == http.StatusConflict:
		c.keysPage(w, r, a.status, "", a.problem())
	default:
		c.failed(w, r, a)
	}
}

// handleRevokeConfirm names what revoking the key does before it is done.
func (c *console) handleRevokeConfirm(w http.ResponseWriter, r consoleRequest) {
	kid := mux.Vars(r.Request)["kid"]
	var tl timeline
	if !c.get(w, r, "/admin/keys/timeline", &tl) {
		return
	}
	for _, k := range tl.Keys {
		if k.KID == kid {
			c.render(w, r, http.StatusOK, "console_revoke", "keys", view{Title: "Revoke key", Data: map[string]any{"Key": k}})
			return
		}
	}
	c.p.renderError(w, r.Request, http.StatusNotFound, "Not found", "There is no key "+kid+".", "not_found")
}

func (c *console) handleRevoke(w http.ResponseWriter, r consoleRequest) {
	kid := mux.Vars(r.Request)["kid"]
	a := c.admin(r, http.MethodPost, "/admin/keys/"+url.PathEscape(kid)+"/revoke", nil)
	switch {
	case a.status == http.StatusOK:
		done(w, r.Request, "/console/keys", "revoked")
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusConflict:
		c.keysPage(w, r, a.status, "", a.problem())
	default:
		c.failed(w, r, a)
	}
}
