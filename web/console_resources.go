package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// registerResources adds the resources pages: the list with its creation
// form, and deletion.
func (c *console) registerResources(r *mux.Router) {
	r.HandleFunc("/console/resources", c.page(c.handleResources)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/resources", c.page(c.handleCreateResource)).Methods(http.MethodPost)
	r.HandleFunc("/console/resources/{id}/delete", c.page(c.handleDeleteResource)).Methods(http.MethodPost)
}

// resourceRow is a resource server of GET /admin/resources.
type resourceRow struct {
	ID        string    `json:"id"`
	URI       string    `json:"uri"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// resourceForm is the creation form, kept to show it again after an error.
type resourceForm struct{ URI, Name string }

var resourceNotices = map[string]string{
	"created": "The resource is registered: clients may ask for tokens for it with the resource parameter.",
	"deleted": "The resource is deleted: no more tokens are issued for it. Access tokens already issued stay valid until they expire.",
}

func (c *console) handleResources(w http.ResponseWriter, r consoleRequest) {
	c.resourcesPage(w, r, http.StatusOK, resourceNotices[r.URL.Query().Get("done")], "", resourceForm{})
}

func (c *console) resourcesPage(w http.ResponseWriter, r consoleRequest, status int, notice, alert string, f resourceForm) {
	var list struct {
		Resources []resourceRow `json:"resources"`
	}
	if !c.get(w, r, "/admin/resources", &list) {
		return
	}
	c.render(w, r, status, "console_resources", "resources", view{Title: "Resources", Notice: notice, Alert: alert, Data: map[string]any{
		"Resources": list.Resources, "Form": f,
	}})
}

// handleCreateResource registers a resource through POST /admin/resources.
func (c *console) handleCreateResource(w http.ResponseWriter, r consoleRequest) {
	f := resourceForm{URI: strings.TrimSpace(r.PostFormValue("uri")), Name: r.PostFormValue("name")}
	a := c.admin(r, http.MethodPost, "/admin/resources", map[string]any{"uri": f.URI, "name": f.Name})
	switch {
	case a.status == http.StatusCreated:
		done(w, r.Request, "/console/resources", "created")
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest || a.status == http.StatusConflict:
		c.resourcesPage(w, r, a.status, "", a.problem(), f)
	default:
		c.failed(w, r, a)
	}
}

func (c *console) handleDeleteResource(w http.ResponseWriter, r consoleRequest) {
	id := mux.Vars(r.Request)["id"]
	a := c.admin(r, http.MethodDelete, "/admin/resources/"+url.PathEscape(id), nil)
	switch {
	case a.status == http.StatusNoContent:
		done(w, r.Request, "/console/resources", "deleted")
	default:
		c.failed(w, r, a)
	}
}
