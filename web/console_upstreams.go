package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// registerUpstreams adds the upstreams pages: the list with its creation
// form, one upstream with its edit form, and deletion behind a
// confirmation that says what it removes.
func (c *console) registerUpstreams(r *mux.Router) {
	r.HandleFunc("/console/upstreams", c.page(c.handleUpstreams)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/upstreams", c.page(c.handleCreateUpstream)).Methods(http.MethodPost)
	r.HandleFunc("/console/upstreams/{id}", c.page(c.handleUpstream)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/upstreams/{id}", c.page(c.handleReplaceUpstream)).Methods(http.MethodPost)
	r.HandleFunc("/console/upstreams/{id}/delete", c.page(c.handleDeleteUpstreamConfirm)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/upstreams/{id}/delete", c.page(c.handleDeleteUpstream)).Methods(http.MethodPost)
}

// upstreamRow is an upstream of GET /admin/upstreams (never its secret);
// GET /admin/upstreams/{id} adds what deleting it would remove.
type upstreamRow struct {
	ID                      string    `json:"id"`
	Name                    string    `json:"name"`
	Type                    string    `json:"type"`
	Issuer                  string    `json:"issuer"`
	ClientID                string    `json:"clientId"`
	Scopes                  []string  `json:"scopes"`
	Linking                 string    `json:"linking"`
	RedirectURI             string    `json:"redirectUri"`
	CreatedAt               time.Time `json:"createdAt"`
	LinkedIdentities        int       `json:"linkedIdentities"`
	AccountsWithoutPassword int       `json:"accountsWithoutPassword"`
}

// upstreamForm is the creation or edit form, kept to show it again after
// an error; the secret is never shown again.
type upstreamForm struct{ ID, Name, Type, Issuer, ClientID, Scopes, Linking string }

func (f upstreamForm) request(secret string) map[string]any {
	return map[string]any{"id": f.ID, "name": f.Name, "type": f.Type, "issuer": f.Issuer, "clientId": f.ClientID,
		"clientSecret": secret, "scopes": strings.Fields(f.Scopes), "linking": f.Linking}
}

func upstreamFormOf(r consoleRequest) upstreamForm {
	return upstreamForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: r.PostFormValue("name"), Type: r.PostFormValue("type"),
		Issuer: strings.TrimSpace(r.PostFormValue("issuer")), ClientID: strings.TrimSpace(r.PostFormValue("client_id")),
		Scopes: r.PostFormValue("scopes"), Linking: r.PostFormValue("linking")}
}

// upstreamFields are the form's fields by the admin API's field names, in
// the form's order.
var upstreamFields = []struct{ api, form, label string }{
	{"id", "id", "Id"}, {"name", "name", "Name"}, {"type", "type", "Type"}, {"issuer", "issuer", "Issuer"},
	{"clientId", "client_id", "Client id"}, {"clientSecret", "client_secret", "Client secret"},
	{"scopes", "scopes", "Scopes"}, {"linking", "linking", "Linking"},
}

// upstreamErrors puts the field the admin API named at fault next to
// that field of the form; an answer that names none is the page's alert.
func upstreamErrors(v *view, a apiAnswer) {
	var p struct {
		Field, Detail string
	}
	if json.Unmarshal(a.body, &p) == nil && p.Field != "" {
		for _, f := range upstreamFields {
			if f.api == p.Field {
				reason := strings.TrimPrefix(p.Detail, p.Field+" ")
				if reason == p.Detail {
					reason = ": " + reason
				} else {
					reason = " " + reason
				}
				v.setErrors(map[string]string{f.form: f.label + reason + "."}, f.form)
				return
			}
		}
	}
	v.Alert = a.problem()
}

var upstreamNotices = map[string]string{
	"created":  "The upstream is registered: its button is on the sign-in and sign-up pages. Register the callback URL below at the upstream.",
	"replaced": "The upstream's settings and secret are replaced; its linked identities stay.",
	"deleted":  "The upstream is deleted, with the identities linked through it. The accounts stay.",
}

func (c *console) handleUpstreams(w http.ResponseWriter, r consoleRequest) {
	c.upstreamsPage(w, r, http.StatusOK, view{Notice: upstreamNotices[r.URL.Query().Get("done")]},
		upstreamForm{Type: "oidc", Linking: "none"})
}

func (c *console) upstreamsPage(w http.ResponseWriter, r consoleRequest, status int, v view, f upstreamForm) {
	var list struct {
		Upstreams []upstreamRow `json:"upstreams"`
	}
	if !c.get(w, r, "/admin/upstreams", &list) {
		return
	}
	v.Title = "Upstreams"
	v.Data = map[string]any{"Upstreams": list.Upstreams, "Form": f}
	c.render(w, r, status, "console_upstreams", "upstreams", v)
}

// formError reports whether a refused write is the form's to correct.
func formError(status int) bool {
	return status == http.StatusUnprocessableEntity || status == http.StatusBadRequest || status == http.StatusConflict
}

// handleCreateUpstream registers an upstream through POST
// /admin/upstreams.
func (c *console) handleCreateUpstream(w http.ResponseWriter, r consoleRequest) {
	f := upstreamFormOf(r)
	a := c.admin(r, http.MethodPost, "/admin/upstreams", f.request(r.PostFormValue("client_secret")))
	switch {
	case a.status == http.StatusCreated:
		done(w, r.Request, "/console/upstreams/"+url.PathEscape(f.ID), "created")
	case formError(a.status):
		var v view
		upstreamErrors(&v, a)
		c.upstreamsPage(w, r, a.status, v, f)
	default:
		c.failed(w, r, a)
	}
}

// upstream reads GET /admin/upstreams/{id}, answering the page itself
// when it cannot.
func (c *console) upstream(w http.ResponseWriter, r consoleRequest) (upstreamRow, bool) {
	var u upstreamRow
	ok := c.get(w, r, "/admin/upstreams/"+url.PathEscape(mux.Vars(r.Request)["id"]), &u)
	return u, ok
}

func (c *console) handleUpstream(w http.ResponseWriter, r consoleRequest) {
	u, ok := c.upstream(w, r)
	if !ok {
		return
	}
	f := upstreamForm{ID: u.ID, Name: u.Name, Type: u.Type, Issuer: u.Issuer, ClientID: u.ClientID, Scopes: strings.Join(u.Scopes, " "), Linking: u.Linking}
	c.upstreamPage(w, r, http.StatusOK, view{Notice: upstreamNotices[r.URL.Query().Get("done")]}, u, f)
}

func (c *console) upstreamPage(w http.ResponseWriter, r consoleRequest, status int, v view, u upstreamRow, f upstreamForm) {
	v.Title = "Upstream " + u.Name
	v.Data = map[string]any{"Upstream": u, "Form": f}
	c.render(w, r, status, "console_upstream", "upstreams", v)
}

// handleReplaceUpstream replaces an upstream's settings through PUT
// /admin/upstreams/{id}: every setting, the secret included.
func (c *console) handleReplaceUpstream(w http.ResponseWriter, r consoleRequest) {
	id := mux.Vars(r.Request)["id"]
	f := upstreamFormOf(r)
	f.ID = id
	a := c.admin(r, http.MethodPut, "/admin/upstreams/"+url.PathEscape(id), f.request(r.PostFormValue("client_secret")))
	switch {
	case a.status == http.StatusOK:
		done(w, r.Request, "/console/upstreams/"+url.PathEscape(id), "replaced")
	case formError(a.status):
		u, ok := c.upstream(w, r)
		if !ok {
			return
		}
		var v view
		upstreamErrors(&v, a)
		c.upstreamPage(w, r, a.status, v, u, f)
	default:
		c.failed(w, r, a)
	}
}

// handleDeleteUpstreamConfirm names what deleting the upstream removes
// before it is done.
func (c *console) handleDeleteUpstreamConfirm(w http.ResponseWriter, r consoleRequest) {
	u, ok := c.upstream(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "console_upstream_delete", "upstreams", view{Title: "Delete upstream " + u.Name, Data: map[string]any{"Upstream": u}})
}

func (c *console) handleDeleteUpstream(w http.ResponseWriter, r consoleRequest) {
	id := mux.Vars(r.Request)["id"]
	a := c.admin(r, http.MethodDelete, "/admin/upstreams/"+url.PathEscape(id), nil)
	switch {
	case a.status == http.StatusNoContent:
		done(w, r.Request, "/console/upstreams", "deleted")
	default:
		c.failed(w, r, a)
	}
}
