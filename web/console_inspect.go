package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// registerInspect adds the token inspector: a token pasted into the form
// is decoded and checked on the server (POST /admin/tokens/inspect), so
// it never leaves the operator's own Sigil; neither is logged.
func (c *console) registerInspect(r *mux.Router) {
	r.HandleFunc("/console/inspect", c.page(c.handleInspectPage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/console/inspect", c.page(c.handleInspect)).Methods(http.MethodPost)
}

// inspection is the answer of POST /admin/tokens/inspect.
type inspection struct {
	Header   map[string]any `json:"header"`
	Claims   map[string]any `json:"claims"`
	Valid    bool           `json:"valid"`
	Problems []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"problems"`
	KeyState  string     `json:"keyState"`
	IssuedAt  *time.Time `json:"issuedAt"`
	NotBefore *time.Time `json:"notBefore"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

func (c *console) handleInspectPage(w http.ResponseWriter, r consoleRequest) {
	c.render(w, r, http.StatusOK, "console_inspect", "inspect", view{Title: "Token inspector", Data: map[string]any{}})
}

func (c *console) handleInspect(w http.ResponseWriter, r consoleRequest) {
	tok := strings.TrimSpace(r.PostFormValue("token"))
	tok = strings.TrimPrefix(strings.TrimPrefix(tok, "Bearer "), "bearer ")
	aud := strings.TrimSpace(r.PostFormValue("audience"))
	data := map[string]any{"Token": tok, "Audience": aud}
	if tok == "" {
		c.render(w, r, http.StatusUnprocessableEntity, "console_inspect", "inspect", view{Title: "Token inspector",
			Alert: "Paste a token to inspect.", Data: data})
		return
	}
	a := c.admin(r, http.MethodPost, "/admin/tokens/inspect", map[string]string{"token": tok, "audience": aud})
	var in inspection
	switch {
	case a.status == http.StatusOK && jsonInto(a.body, &in):
		data["In"] = in
		data["Header"] = indentJSON(in.Header)
		data["Claims"] = indentJSON(in.Claims)
		c.render(w, r, http.StatusOK, "console_inspect", "inspect", view{Title: "Token inspector", Data: data})
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusBadRequest || a.status == http.StatusRequestEntityTooLarge:
		c.render(w, r, a.status, "console_inspect", "inspect", view{Title: "Token inspector", Alert: a.problem(), Data: data})
	default:
		c.failed(w, r, a)
	}
}

func indentJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}
