package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

// registerClients adds the clients pages: the list, the creation form,
// secret rotation and deletion.
func (c *console) registerClients(r *mux.Router) {
	r.HandleFunc("/console/clients", c.page(c.handleClients)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/clients", c.page(c.handleCreateClient)).Methods(http.MethodPost)
	r.HandleFunc("/console/clients/{id}/secret", c.page(c.handleRotateSecret)).Methods(http.MethodPost)
	r.HandleFunc("/console/clients/{id}/delete", c.page(c.handleDeleteClient)).Methods(http.MethodPost)
}

// clientRow is a client of GET /admin/clients.
type clientRow struct {
	ClientID               string    `json:"clientId"`
	Name                   string    `json:"name"`
	Scopes                 []string  `json:"scopes"`
	Audience               string    `json:"audience"`
	TokenTTL               int       `json:"tokenTtl"`
	CreatedAt              time.Time `json:"createdAt"`
	RedirectURIs           []string  `json:"redirectUris"`
	PostLogoutRedirectURIs []string  `json:"postLogoutRedirectUris"`
	GrantTypes             []string  `json:"grantTypes"`
	Public                 bool      `json:"public"`
	FirstParty             bool      `json:"firstParty"`
	RequireMFA             bool      `json:"requireMfa"`
	PKCEOptional           bool      `json:"pkceOptional"`
}

// Builtin reports whether the client is the console's own.
func (c clientRow) Builtin() bool { return c.ClientID == authority.ConsoleClientID }

// clientForm is the creation form, kept to show it again after an error.
type clientForm struct {
	Name, Scopes, Audience, TokenTTL, RedirectURIs, PostLogoutRedirectURIs string
	Grants                                                                 map[string]bool
	Public, FirstParty, RequireMFA, PKCEOptional                           bool
}

var clientNotices = map[string]string{
	"deleted": "The client is deleted and its refresh tokens are revoked. Access tokens it holds stay valid until they expire.",
}

func (c *console) handleClients(w http.ResponseWriter, r consoleRequest) {
	c.clientsPage(w, r, http.StatusOK, clientNotices[r.URL.Query().Get("done")], "", clientForm{Grants: map[string]bool{}})
}

func (c *console) clientsPage(w http.ResponseWriter, r consoleRequest, status int, notice, alert string, f clientForm) {
	var list struct {
		Clients []clientRow `json:"clients"`
	}
	if !c.get(w, r, "/admin/clients", &list) {
		return
	}
	c.render(w, r, status, "console_clients", "clients", view{Title: "Clients", Notice: notice, Alert: alert, Data: map[string]any{
		"Clients": list.Clients, "Form": f, "GrantTypes": []string{"authorization_code", "refresh_token", "client_credentials"},
	}})
}

// clientNames reads the clients' names by id, for pages that show which
// client a session or an event belongs to.
func (c *console) clientNames(w http.ResponseWriter, r consoleRequest) (map[string]string, bool) {
	var list struct {
		Clients []clientRow `json:"clients"`
	}
	if !c.get(w, r, "/admin/clients", &list) {
		return nil, false
	}
	names := make(map[string]string, len(list.Clients))
	for _, cl := range list.Clients {
		names[cl.ClientID] = cl.Name
	}
	return names, true
}

// lines splits a textarea into its values, one a line or separated by
// spaces (neither URIs nor scopes contain spaces), never nil.
func lines(s string) []string {
	if f := strings.Fields(s); f != nil {
		return f
	}
	return []string{}
}

// secretScripts are the scripts of the page that shows a secret once:
// its copy button.
var secretScripts = []string{"/static/copy.js"}

// handleCreateClient creates a client through POST /admin/clients and
// shows its secret this once.
func (c *console) handleCreateClient(w http.ResponseWriter, r consoleRequest) {
	f := clientForm{Name: r.PostFormValue("name"), Scopes: r.PostFormValue("scopes"), Audience: r.PostFormValue("audience"),
		TokenTTL: strings.TrimSpace(r.PostFormValue("token_ttl")), RedirectURIs: r.PostFormValue("redirect_uris"),
		PostLogoutRedirectURIs: r.PostFormValue("post_logout_redirect_uris"), Grants: map[string]bool{},
		Public: r.PostFormValue("public") == "on", FirstParty: r.PostFormValue("first_party") == "on", RequireMFA: r.PostFormValue("require_mfa") == "on",
		PKCEOptional: r.PostFormValue("pkce_optional") == "on"}
	body := map[string]any{"name": f.Name, "scopes": lines(f.Scopes), "audience": strings.TrimSpace(f.Audience),
		"redirectUris": lines(f.RedirectURIs), "postLogoutRedirectUris": lines(f.PostLogoutRedirectURIs),
		"public": f.Public, "firstParty": f.FirstParty, "requireMfa": f.RequireMFA, "pkceOptional": f.PKCEOptional}
	var grants []string
	for _, g := range r.PostForm["grant_types"] {
		f.Grants[g] = true
		grants = append(grants, g)
	}
	if len(grants) > 0 {
		body["grantTypes"] = grants
	}
	if f.TokenTTL != "" {
		body["tokenTtl"] = f.TokenTTL
	}
	a := c.admin(r, http.MethodPost, "/admin/clients", body)
	var created struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	switch {
	case a.status == http.StatusCreated && jsonInto(a.body, &created):
		c.render(w, r, http.StatusCreated, "console_secret", "clients", view{Title: "Client created", Scripts: secretScripts, Data: map[string]any{
			"ClientID": created.ClientID, "Secret": created.ClientSecret, "Name": f.Name, "Created": true}})
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest:
		c.clientsPage(w, r, a.status, "", a.problem(), f)
	default:
		c.failed(w, r, a)
	}
}

// handleRotateSecret gives a confidential client a new secret, shown this
// once; the old one stops working at once.
func (c *console) handleRotateSecret(w http.ResponseWriter, r consoleRequest) {
	id := mux.Vars(r.Request)["id"]
	a := c.admin(r, http.MethodPost, "/admin/clients/"+url.PathEscape(id)+"/secret", nil)
	var rotated struct {
		ClientSecret string `json:"clientSecret"`
	}
	switch {
	case a.status == http.StatusOK && jsonInto(a.body, &rotated):
		c.render(w, r, http.StatusOK, "console_secret", "clients", view{Title: "New client secret", Scripts: secretScripts, Data: map[string]any{
			"ClientID": id, "Secret": rotated.ClientSecret}})
	case a.status == http.StatusUnprocessableEntity:
		c.clientsPage(w, r, a.status, "", a.problem(), clientForm{Grants: map[string]bool{}})
	default:
		c.failed(w, r, a)
	}
}

func (c *console) handleDeleteClient(w http.ResponseWriter, r consoleRequest) {
	id := mux.Vars(r.Request)["id"]
	a := c.admin(r, http.MethodDelete, "/admin/clients/"+url.PathEscape(id), nil)
	switch {
	case a.status == http.StatusNoContent:
		done(w, r.Request, "/console/clients", "deleted")
	case a.status == http.StatusUnprocessableEntity:
		c.clientsPage(w, r, a.status, "", a.problem(), clientForm{Grants: map[string]bool{}})
	default:
		c.failed(w, r, a)
	}
}
