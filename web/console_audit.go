package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

// registerAudit adds the audit page: the log newest first, filtered by
// type, user and time range, page by page.
func (c *console) registerAudit(r *mux.Router) {
	r.HandleFunc("/console/audit", c.page(c.handleAudit)).Methods(http.MethodGet, http.MethodHead)
}

// auditFilter is the audit page's form. Times are UTC, as a
// datetime-local field writes them (2006-01-02T15:04).
type auditFilter struct {
	Type, User, From, To string
}

const localMinute = "2006-01-02T15:04"

func (c *console) handleAudit(w http.ResponseWriter, r consoleRequest) {
	q := r.URL.Query()
	f := auditFilter{Type: strings.TrimSpace(q.Get("type")), User: strings.TrimSpace(q.Get("user")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	api := url.Values{"limit": {"50"}}
	if f.Type != "" {
		api.Set("type", f.Type)
	}
	if cur := q.Get("cursor"); cur != "" {
		api.Set("cursor", cur)
	}
	var alert string
	for _, t := range []struct{ name, val string }{{"from", f.From}, {"to", f.To}} {
		if t.val == "" {
			continue
		}
		at, err := time.Parse(localMinute, t.val)
		if err != nil {
			if at, err = time.Parse(time.RFC3339, t.val); err != nil {
				alert = "The " + t.name + " time must look like 2026-01-02T15:04 (UTC)."
				continue
			}
		}
		api.Set(t.name, at.UTC().Format(time.RFC3339))
	}
	if f.User != "" {
		id, ok := c.userID(w, r, f.User)
		if !ok {
			return
		}
		if id == "" {
			alert = "No user has the email " + f.User + "."
		}
		api.Set("userId", id)
	}
	page := struct {
		Events     []authority.Event `json:"events"`
		Names      map[string]string `json:"names"`
		NextCursor string            `json:"nextCursor"`
	}{}
	status := http.StatusOK
	if alert != "" {
		status = http.StatusUnprocessableEntity
	} else if !c.get(w, r, "/admin/audit?"+api.Encode(), &page) {
		return
	}
	next := ""
	if page.NextCursor != "" {
		next = "/console/audit?" + url.Values{"type": {f.Type}, "user": {f.User}, "from": {f.From}, "to": {f.To}, "cursor": {page.NextCursor}}.Encode()
	}
	rows := make([]auditRow, len(page.Events))
	for i, e := range page.Events {
		rows[i] = auditRow{Event: e, ActorName: page.Names[e.Actor], UserName: page.Names[e.UserID]}
	}
	c.render(w, r, status, "console_audit", "audit", view{Title: "Audit", Alert: alert, Data: map[string]any{
		"Events": rows, "Filter": f, "Next": next, "Paged": q.Get("cursor") != "", "Types": auditTypes(f.Type)}})
}

// userID resolves the user filter: an email becomes the id of the user
// with exactly that email ("" for none), anything else is taken as an id.
func (c *console) userID(w http.ResponseWriter, r consoleRequest, user string) (string, bool) {
	if !strings.Contains(user, "@") {
		return user, true
	}
	var page struct {
		Users []userRow `json:"users"`
	}
	if !c.get(w, r, "/admin/users?"+url.Values{"email": {user}, "limit": {"50"}}.Encode(), &page) {
		return "", false
	}
	for _, u := range page.Users {
		if strings.EqualFold(u.Email, user) {
			return u.ID, true
		}
	}
	return "", true
}

// auditRow is an event with the names of its actor and user (empty for
// an id the admin API could not name: a deleted user, "bootstrap").
type auditRow struct {
	authority.Event
	ActorName, UserName string
}

// auditTypes are the choices of the type filter: every type Sigil
// writes, by name, and the one asked for if it is not among them (a
// link from an older version).
func auditTypes(current string) []string {
	types := slices.Sorted(slices.Values(authority.AuditEventTypes))
	if current != "" && !slices.Contains(types, current) {
		types = append([]string{current}, types...)
	}
	return types
}
