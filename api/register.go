package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// Modes of dynamic client registration (SIGIL_REGISTRATION).
const (
	RegistrationOff   = "off"
	RegistrationToken = "token"
	RegistrationOpen  = "open"
)

// registrationPath is the RFC 7591 registration endpoint; a registered
// client's configuration endpoint (RFC 7592) is beneath it.
const registrationPath = "/oauth2/register"

// registrationBurst is how many registrations one address may make at
// once; Config.RegistrationRate refills them.
const registrationBurst = 5

// registrationOn reports whether clients may register themselves.
func (s *Server) registrationOn() bool {
	return s.cfg.Registration == RegistrationToken || s.cfg.Registration == RegistrationOpen
}

// registrationResponse is the client information response (RFC 7591
// §3.2.1, RFC 7592 §3): the client's credentials and its metadata as
// registered.
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string   `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope,omitempty"`
}

func (s *Server) registrationView(c authority.Client, md oidc.ClientMetadata, secret, token string) registrationResponse {
	out := registrationResponse{ClientID: c.ID, ClientSecret: secret, ClientIDIssuedAt: c.RegisteredAt.Unix(),
		RegistrationAccessToken: token, RegistrationClientURI: strings.TrimRight(s.cfg.Issuer, "/") + registrationPath + "/" + c.ID,
		RedirectURIs: md.RedirectURIs, ClientName: md.ClientName, GrantTypes: md.GrantTypes, ResponseTypes: md.ResponseTypes,
		TokenEndpointAuthMethod: md.TokenEndpointAuthMethod, Scope: md.Scope}
	if !c.Public {
		// The secret never expires (RFC 7591: 0).
		zero := int64(0)
		out.ClientSecretExpiresAt = &zero
	}
	return out
}

// handleRegister registers a client (RFC 7591): 404 while registration
// is off; with SIGIL_REGISTRATION=token a Bearer initial access token,
// one use of which each registration spends; per address at most
// registrationBurst registrations at once, refilled at
// Config.RegistrationRate.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !s.registrationOn() {
		s.writeProblem(w, r, errNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeOAuthError(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "use POST"}, false)
		return
	}
	ip := s.clientIP(r)
	if s.registrations != nil {
		if ok, wait, audit := s.registrations.allow(authority.ClientBucket(ip)); !ok {
			s.metrics.Throttled.WithLabelValues("rate").Inc()
			if audit {
				s.auth.Audit(r.Context(), authority.Event{Type: authority.EventRequestThrottled, IP: ip, Detail: "registration rate limit exceeded on " + registrationPath})
			}
			s.writeOAuthError(w, r, &authority.ThrottledError{RetryAfter: wait, Reason: "rate"}, false)
			return
		}
	}
	if s.cfg.Registration == RegistrationToken && registrationBearer(r) == "" {
		s.writeOAuthError(w, r, oidc.ErrInvalidRegistrationToken, false)
		return
	}
	md, err := readClientMetadata(r)
	if err != nil {
		s.writeOAuthError(w, r, err, false)
		return
	}
	via, token := oidc.RegisteredOpenly, ""
	if s.cfg.Registration == RegistrationToken {
		via, token = oidc.RegisteredWithToken, registrationBearer(r)
	}
	reg, err := s.oidc.RegisterClient(r.Context(), md, via, token, authority.Meta{IP: ip})
	if err != nil {
		s.writeOAuthError(w, r, err, false)
		return
	}
	noStore(w)
	w.Header().Set("Location", strings.TrimRight(s.cfg.Issuer, "/")+registrationPath+"/"+reg.Client.ID)
	writeJSON(w, http.StatusCreated, s.registrationView(reg.Client, reg.Metadata, reg.Secret, reg.AccessToken))
}

// handleRegistration reads (GET) or deletes (DELETE) a registered
// client's registration with its registration access token (RFC 7592).
func (s *Server) handleRegistration(w http.ResponseWriter, r *http.Request) {
	if !s.registrationOn() {
		s.writeProblem(w, r, errNotFound)
		return
	}
	id, token := mux.Vars(r)["id"], registrationBearer(r)
	switch r.Method {
	case http.MethodGet:
		c, err := s.oidc.RegisteredClient(r.Context(), id, token)
		if err != nil {
			s.writeOAuthError(w, r, err, false)
			return
		}
		noStore(w)
		writeJSON(w, http.StatusOK, s.registrationView(c, oidc.RegisteredMetadata(c), "", ""))
	case http.MethodDelete:
		if err := s.oidc.DeleteRegisteredClient(r.Context(), id, token, authority.Meta{IP: s.clientIP(r)}); err != nil {
			s.writeOAuthError(w, r, err, false)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, DELETE")
		s.writeOAuthError(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "use GET or DELETE"}, false)
	}
}

// registrationBearer is the credential of an Authorization: Bearer
// header, "" without one.
func registrationBearer(r *http.Request) string {
	tok, _ := bearerToken(r)
	return tok
}

// readClientMetadata reads an RFC 7591 registration request: a JSON
// object of at most 64 KiB without duplicate keys. Members are matched
// exactly (encoding/json alone would also take "Redirect_URIs"), and
// members Sigil does not use are ignored, as RFC 7591 §2 says.
func readClientMetadata(r *http.Request) (oidc.ClientMetadata, error) {
	var md oidc.ClientMetadata
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return md, &oauthError{http.StatusUnsupportedMediaType, "invalid_request", "the request body must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return md, &oauthError{http.StatusRequestEntityTooLarge, "invalid_request", "the request body must be at most 64 KiB"}
		}
		return md, oauthInvalidRequest("the request body could not be read")
	}
	bad := func(desc string) error { return &oauthError{http.StatusBadRequest, "invalid_client_metadata", desc} }
	if !utf8.Valid(body) {
		return md, bad("the request body is not valid UTF-8")
	}
	if err := checkObject(body); err != nil {
		return md, bad("the request body must be one JSON object without duplicate members")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return md, bad("the request body is not a JSON object")
	}
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"redirect_uris", &md.RedirectURIs},
		{"client_name", &md.ClientName},
		{"grant_types", &md.GrantTypes},
		{"response_types", &md.ResponseTypes},
		{"token_endpoint_auth_method", &md.TokenEndpointAuthMethod},
		{"scope", &md.Scope},
	} {
		raw, ok := members[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			if f.name == "redirect_uris" {
				return md, &oauthError{http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris must be an array of strings"}
			}
			return md, bad(f.name + " has the wrong type")
		}
	}
	return md, nil
}

// registrationTokenRequest is the body of POST /admin/registration-tokens:
// expiresIn is a duration ("24h") or whole seconds, uses a count; both
// optional.
type registrationTokenRequest struct {
	ExpiresIn json.RawMessage `json:"expiresIn"`
	Uses      int             `json:"uses"`
}

// registrationTokenView is an initial access token as the admin API shows
// it; Token only in the answer that creates it.
type registrationTokenView struct {
	ID        string    `json:"id"`
	Token     string    `json:"token,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	Uses      int       `json:"uses"`
	UsesLeft  int       `json:"usesLeft"`
}

func viewRegistrationToken(t oidc.RegistrationToken, token string) registrationTokenView {
	return registrationTokenView{ID: t.ID, Token: token, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Uses: t.Uses, UsesLeft: t.UsesLeft}
}

func (s *Server) handleCreateRegistrationToken(w http.ResponseWriter, r *http.Request) {
	var req registrationTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	ttl, err := parseTTLField(req.ExpiresIn)
	if err != nil {
		s.writeProblem(w, r, invalidField("expiresIn", "must be a duration such as \"24h\" or a whole number of seconds"))
		return
	}
	t, token, err := s.oidc.CreateRegistrationToken(r.Context(), ttl, req.Uses, s.adminMeta(r))
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	w.Header().Set("Location", "/admin/registration-tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, viewRegistrationToken(t, token))
}

func (s *Server) handleListRegistrationTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.oidc.RegistrationTokens(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	out := make([]registrationTokenView, len(ts))
	for i, t := range ts {
		out[i] = viewRegistrationToken(t, "")
	}
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{"registrationTokens": out})
}

func (s *Server) handleDeleteRegistrationToken(w http.ResponseWriter, r *http.Request) {
	if err := s.oidc.DeleteRegistrationToken(r.Context(), mux.Vars(r)["id"], s.adminMeta(r)); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
