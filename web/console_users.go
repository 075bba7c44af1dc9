package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// registerUsers adds the users pages: search and paging, one user's
// account, sessions, roles, lock state and second factors, and the
// administrator's actions on them.
func (c *console) registerUsers(r *mux.Router) {
	r.HandleFunc("/console/users", c.page(c.handleUsers)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/users/{id}", c.page(c.handleUser)).Methods(http.MethodGet, http.MethodHead)
	for _, action := range userActions {
		r.HandleFunc("/console/users/{id}/"+action, c.page(c.handleUserAction(action))).Methods(http.MethodPost)
	}
}

// userRow is a user of the admin API.
type userRow struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	EmailVerified bool      `json:"emailVerified"`
	Locked        bool      `json:"locked"`
	Roles         []string  `json:"roles"`
	CreatedAt     time.Time `json:"createdAt"`
}

type sessionRow struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	ClientID   string    `json:"clientId"`
	CreatedAt  time.Time `json:"createdAt"`
	LastUsedAt time.Time `json:"lastUsedAt"`
	UserAgent  string    `json:"userAgent"`
	IP         string    `json:"ip"`
}

func (c *console) handleUsers(w http.ResponseWriter, r consoleRequest) {
	q := r.URL.Query()
	email := strings.TrimSpace(q.Get("email"))
	api := url.Values{"limit": {"20"}}
	if email != "" {
		api.Set("email", email)
	}
	if cur := q.Get("cursor"); cur != "" {
		api.Set("cursor", cur)
	}
	var page struct {
		Users      []userRow `json:"users"`
		NextCursor string    `json:"nextCursor"`
	}
	if !c.get(w, r, "/admin/users?"+api.Encode(), &page) {
		return
	}
	next := ""
	if page.NextCursor != "" {
		next = "/console/users?" + url.Values{"email": {email}, "cursor": {page.NextCursor}}.Encode()
	}
	notice := ""
	if q.Get("done") == "deleted" {
		notice = "The user is deleted, with their sessions and tokens."
	}
	c.render(w, r, http.StatusOK, "console_users", "users", view{Title: "Users", Notice: notice, Email: email, Data: map[string]any{
		"Users": page.Users, "Next": next, "Paged": q.Get("cursor") != ""}})
}

var userNotices = map[string]string{
	"lock":     "The account is locked: its sessions ended and it cannot sign in.",
	"unlock":   "The account is unlocked.",
	"roles":    "The roles are saved; tokens issued from now on carry them.",
	"sessions": "Every session of the user has ended.",
	"factors":  "The second factors are removed.",
}

func (c *console) handleUser(w http.ResponseWriter, r consoleRequest) {
	c.userPage(w, r, http.StatusOK, userNotices[r.URL.Query().Get("done")], "")
}

func (c *console) userPage(w http.ResponseWriter, r consoleRequest, status int, notice, alert string) {
	base := "/admin/users/" + url.PathEscape(mux.Vars(r.Request)["id"])
	var u userRow
	var sessions struct {
		Sessions []sessionRow `json:"sessions"`
	}
	var factors struct {
		TOTP              bool `json:"totp"`
		RecoveryCodesLeft int  `json:"recoveryCodesLeft"`
	}
	if !c.get(w, r, base, &u) || !c.get(w, r, base+"/sessions", &sessions) || !c.get(w, r, base+"/mfa", &factors) {
		return
	}
	names, ok := c.clientNames(w, r)
	if !ok {
		return
	}
	c.render(w, r, status, "console_user", "users", view{Title: u.Email, Notice: notice, Alert: alert, Data: map[string]any{
		"U": u, "Sessions": sessions.Sessions, "Factors": factors, "Self": u.Email == r.sess.Email, "ClientNames": names}})
}

// userActions are the forms of a user's page, each posted to
// /console/users/{id}/ACTION.
var userActions = []string{"lock", "unlock", "roles", "sessions", "factors", "delete"}

// handleUserAction runs one administrator action on a user through the
// admin API and comes back to the user's page.
func (c *console) handleUserAction(action string) func(w http.ResponseWriter, r consoleRequest) {
	return func(w http.ResponseWriter, r consoleRequest) { c.userAction(w, r, action) }
}

func (c *console) userAction(w http.ResponseWriter, r consoleRequest, action string) {
	id := mux.Vars(r.Request)["id"]
	base := "/admin/users/" + url.PathEscape(id)
	var a apiAnswer
	switch action {
	case "lock", "unlock":
		a = c.admin(r, http.MethodPost, base+"/"+action, nil)
	case "roles":
		a = c.admin(r, http.MethodPut, base+"/roles", map[string][]string{"roles": lines(r.PostFormValue("roles"))})
	case "sessions":
		a = c.admin(r, http.MethodPost, base+"/sessions/revoke-all", nil)
	case "factors":
		a = c.admin(r, http.MethodDelete, base+"/mfa", nil)
	case "delete":
		if r.PostFormValue("confirm") != "yes" {
			c.userPage(w, r, http.StatusUnprocessableEntity, "", "Tick the box to confirm the deletion: it cannot be undone.")
			return
		}
		a = c.admin(r, http.MethodDelete, base, nil)
	}
	switch {
	case a.status == http.StatusNoContent && action == "delete":
		done(w, r.Request, "/console/users", "deleted")
	case a.status == http.StatusNoContent:
		done(w, r.Request, "/console/users/"+url.PathEscape(id), action)
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest || a.status == http.StatusConflict:
		c.userPage(w, r, a.status, "", a.problem())
	default:
		c.failed(w, r, a)
	}
}
