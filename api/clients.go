package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
)

// createClientRequest is the body of POST /admin/clients. scopes is an
// array of scope tokens (a space-separated string is read too); tokenTtl is
// optional: whole seconds as a number, or a Go duration string such as
// "10m". It may not exceed SIGIL_ACCESS_TOKEN_TTL (422).
type createClientRequest struct {
	Name     string          `json:"name"`
	Scopes   json.RawMessage `json:"scopes"`
	Audience string          `json:"audience"`
	TokenTTL json.RawMessage `json:"tokenTtl"`

	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
	GrantTypes             []string `json:"grantTypes"`
	Public                 bool     `json:"public"`
	FirstParty             bool     `json:"firstParty"`
	RequireMFA             bool     `json:"requireMfa"`
	PKCEOptional           bool     `json:"pkceOptional"`
}

// createClientResponse has no clientSecret for a public client.
type createClientResponse struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
}

// clientView is a client as GET /admin/clients shows it: never its secret
// or the secret's hash. tokenTtl is the effective lifetime in seconds.
type clientView struct {
	ClientID  string    `json:"clientId"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	Audience  string    `json:"audience"`
	TokenTTL  int       `json:"tokenTtl"`
	CreatedAt time.Time `json:"createdAt"`

	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
	GrantTypes             []string `json:"grantTypes"`
	Public                 bool     `json:"public"`
	FirstParty             bool     `json:"firstParty"`
	RequireMFA             bool     `json:"requireMfa"`
	PKCEOptional           bool     `json:"pkceOptional"`
	// Registered: the client registered itself (RFC 7591) at
	// RegisteredAt.
	Registered   bool       `json:"registered"`
	RegisteredAt *time.Time `json:"registeredAt,omitempty"`
}

func parseScopesField(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return []string{}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.Fields(s), nil
	}
	return nil, invalidField("scopes", "must be an array of strings (or one space-separated string)")
}

func parseTTLField(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, invalidField("tokenTtl", "must be a duration such as \"10m\" or a number of seconds")
		}
		return d, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || n != math.Trunc(n) || n < 0 || n > 1e9 {
		return 0, invalidField("tokenTtl", "must be a duration such as \"10m\" or a whole number of seconds")
	}
	return time.Duration(n) * time.Second, nil
}

func (s *Server) handleCreateClient(w http.ResponseWriter, r *http.Request) {
	var req createClientRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	scopes, err := parseScopesField(req.Scopes)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	ttl, err := parseTTLField(req.TokenTTL)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	c, secret, err := s.auth.CreateClient(r.Context(), authority.NewClient{Name: req.Name, Scopes: scopes, Audience: req.Audience, TokenTTL: ttl,
		RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs, GrantTypes: req.GrantTypes,
		Public: req.Public, FirstParty: req.FirstParty, RequireMFA: req.RequireMFA, PKCEOptional: req.PKCEOptional}, s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	w.Header().Set("Location", "/admin/clients/"+c.ID)
	writeJSON(w, http.StatusCreated, createClientResponse{ClientID: c.ID, ClientSecret: secret})
}

func (s *Server) handleListClients(w http.ResponseWriter, r *http.Request) {
	cs, err := s.auth.Clients(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	access := s.auth.Config().AccessTTL
	out := make([]clientView, len(cs))
	for i, c := range cs {
		ttl := c.TokenTTL
		if ttl <= 0 || ttl > access {
			ttl = access
		}
		out[i] = clientView{ClientID: c.ID, Name: c.Name, Scopes: c.Scopes, Audience: c.Audience, TokenTTL: int(ttl / time.Second), CreatedAt: c.CreatedAt,
			RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, GrantTypes: c.GrantTypes,
			Public: c.Public, FirstParty: c.FirstParty, RequireMFA: c.RequireMFA, PKCEOptional: c.PKCEOptional, Registered: c.Registered()}
		if c.Registered() {
			at := c.RegisteredAt
			out[i].RegisteredAt = &at
		}
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (s *Server) handleDeleteClient(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.DeleteClient(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminMeta describes an administrator's request for the audit log.
func (s *Server) adminMeta(r *http.Request) authority.Meta {
	m := authority.Meta{IP: s.clientIP(r)}
	if c := adminClaims(r.Context()); c != nil {
		m.Actor = c.Subject
	}
	return m
}
