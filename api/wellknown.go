package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/oidc"
)

// jwksPath is where the key set is published.
const jwksPath = "/.well-known/jwks.json"

// handleJWKS serves the precomputed JWKS of the current keyring snapshot:
// no database read and no JSON encoding per request, and the header
// values are built once per snapshot.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	snap := s.keys.Ring().Load()
	if snap == nil {
		s.writeProblem(w, r, newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable", "no signing keys loaded yet"))
		return
	}
	jh := s.jwksHeadersFor(snap)
	h := w.Header()
	h["Cache-Control"] = s.jwksCacheControl
	h["Etag"] = jh.etag
	h["Vary"] = varyOrigin
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, jh.etag[0]) {
		s.metrics.jwks(true)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.metrics.jwks(false)
	h["Content-Type"] = jsonType
	h["Content-Length"] = jh.length
	if r.Method == http.MethodHead {
		return
	}
	w.Write(jh.body)
}

// jwksHeaders are the JWKS answer's body and header values for one
// snapshot. The slices are shared by every answer and never modified.
type jwksHeaders struct {
	snap         *keys.Snapshot
	body         []byte
	etag, length []string
}

func (s *Server) jwksHeadersFor(snap *keys.Snapshot) *jwksHeaders {
	if jh := s.jwksCache.Load(); jh != nil && jh.snap == snap {
		return jh
	}
	body, etag := snap.JWKS()
	jh := &jwksHeaders{snap: snap, body: body, etag: []string{etag}, length: []string{strconv.Itoa(len(body))}}
	s.jwksCache.Store(jh)
	return jh
}

var (
	jsonType   = []string{"application/json"}
	varyOrigin = []string{"Origin"}
)

// etagMatch implements If-None-Match's weak comparison over a list.
func etagMatch(header, etag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for rest := header; rest != ""; {
		var t string
		t, rest, _ = strings.Cut(rest, ",")
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag {
			return true
		}
	}
	return false
}

// asMetadata is the OAuth 2.0 authorization server metadata (RFC 8414),
// served at /.well-known/oauth-authorization-server. OpenID discovery
// embeds it, so every field here is in both documents with the same
// value. Optional endpoints are omitted while they are not served
// (dynamic registration while SIGIL_REGISTRATION is off), so a client
// never follows a link to a 404.
type asMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethods             []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethods          []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethods              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIss          bool     `json:"authorization_response_iss_parameter_supported"`
	// ClientIDMetadataDocuments is set while SIGIL_CIMD is on.
	ClientIDMetadataDocuments bool `json:"client_id_metadata_document_supported,omitempty"`
}

// discovery is the OpenID Provider metadata: the authorization server
// metadata and what OpenID Connect adds. Every URL derives from the
// issuer.
type discovery struct {
	asMetadata

	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	TokenSigningAlgValuesSupported   []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`

	UserinfoEndpoint          string   `json:"userinfo_endpoint"`
	EndSessionEndpoint        string   `json:"end_session_endpoint"`
	PromptValuesSupported     []string `json:"prompt_values_supported"`
	RequestParameterSupported bool     `json:"request_parameter_supported"`
	RequestURIParameter       bool     `json:"request_uri_parameter_supported"`
	ClaimsParameterSupported  bool     `json:"claims_parameter_supported"`
	ACRValuesSupported        []string `json:"acr_values_supported"`
}

// metadata builds both well-known documents from one value, so they
// cannot disagree.
func (s *Server) metadata() discovery {
	iss := strings.TrimRight(s.cfg.Issuer, "/")
	algs := make([]string, len(keys.Algs))
	for i, a := range keys.Algs {
		algs[i] = string(a)
	}
	auth := []string{"client_secret_basic", "client_secret_post"}
	// "none": the public login client refreshes and revokes its own
	// tokens with client_id alone.
	public := append(auth[:len(auth):len(auth)], "none")
	registration := ""
	if s.registrationOn() {
		registration = iss + registrationPath
	}
	return discovery{
		asMetadata: asMetadata{
			RegistrationEndpoint:              registration,
			Issuer:                            s.cfg.Issuer,
			AuthorizationEndpoint:             iss + "/oauth2/authorize",
			TokenEndpoint:                     iss + "/oauth2/token",
			DeviceAuthorizationEndpoint:       iss + "/oauth2/device_authorization",
			JWKSURI:                           iss + jwksPath,
			RevocationEndpoint:                iss + "/oauth2/revoke",
			IntrospectionEndpoint:             iss + "/oauth2/introspect",
			ScopesSupported:                   []string{oidc.ScopeOpenID, oidc.ScopeProfile, authority.ScopeEmail, oidc.ScopeOfflineAccess, authority.ScopeRoles},
			ResponseTypesSupported:            []string{"code"},
			ResponseModesSupported:            []string{"query"},
			GrantTypesSupported:               []string{"authorization_code", "client_credentials", "refresh_token", authority.GrantDeviceCode},
			TokenEndpointAuthMethodsSupported: public,
			RevocationAuthMethods:             public,
			IntrospectionAuthMethods:          auth,
			CodeChallengeMethods:              []string{"S256"},
			AuthorizationResponseIss:          true,
			ClientIDMetadataDocuments:         s.auth != nil && s.auth.ClientDocumentsOn(),
		},
		IDTokenSigningAlgValuesSupported: algs,
		SubjectTypesSupported:            []string{"public"},
		ClaimsSupported:                  claimsSupported(),
		UserinfoEndpoint:                 iss + "/oauth2/userinfo",
		EndSessionEndpoint:               iss + "/oauth2/logout",
		PromptValuesSupported:            []string{"none", "login", "consent"},
		ACRValuesSupported:               oidc.ACRValuesSupported,
	}
}

// discoveryDoc is the OpenID discovery document and asDoc the RFC 8414
// metadata, both encoded once.
func (s *Server) discoveryDoc() []byte {
	s.encodeMetadata()
	return s.discoveryBytes
}

func (s *Server) asDoc() []byte {
	s.encodeMetadata()
	return s.asBytes
}

func (s *Server) encodeMetadata() {
	s.discoveryOnce.Do(func() {
		d := s.metadata()
		s.discoveryBytes, _ = json.Marshal(d)
		s.asBytes, _ = json.Marshal(d.asMetadata)
	})
}

// claimsSupported lists the claims of ID tokens and access tokens.
func claimsSupported() []string {
	out := append([]string{}, oidc.IDTokenClaims...)
	for _, c := range []string{"nbf", "jti", "client_id", "scope", "roles"} {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	s.writeMetadata(w, r, s.discoveryDoc())
}

// handleASMetadata serves RFC 8414 authorization server metadata, for
// OAuth clients (MCP hosts among them) that do not read OpenID discovery.
func (s *Server) handleASMetadata(w http.ResponseWriter, r *http.Request) {
	s.writeMetadata(w, r, s.asDoc())
}

func (s *Server) writeMetadata(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Cache-Control"] = s.jwksCacheControl
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers 200 only when the database answers within
// readyTimeout (at once 503 while the store's breaker is open), a signing key is loaded, and the key set in the database is one
// this instance can load (else it is serving a stale keyring: a new active
// key it cannot unseal, say, after a rotation with other key-encryption
// keys). The 503 answers give the reason, never key material.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	reason, detail, kid := s.readiness(r.Context())
	if reason != "" {
		// The detail (which key, which key-encryption key is missing)
		// tells an outsider how the keys are protected: only an
		// administrator's token sees it here; it is also in the log and
		// on /admin/overview.
		if detail != "" && s.callerIsAdmin(r) {
			reason += ": " + detail
		}
		body := map[string]string{"status": "unavailable", "reason": reason}
		if kid != "" {
			body["activeKid"] = kid
		}
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "activeKid": kid})
}

// callerIsAdmin reports whether the request carries a valid access token
// of an administrator.
func (s *Server) callerIsAdmin(r *http.Request) bool {
	if r.Header.Get("Authorization") == "" {
		return false
	}
	c, err := s.verifyBearer(r)
	return err == nil && s.auth.AuthorizeAPI(r.Context(), c, authority.AccessAdmin) == nil
}

// readyTimeout bounds /readyz's wait for the database, so a load balancer's
// health check (commonly given one or two seconds) reads a 503 during an
// outage rather than timing out.
const readyTimeout = 800 * time.Millisecond

// Readiness returns why this instance is not ready ("" when it is), with
// the detail, and the kid of its active key: the checks of /readyz.
func (s *Server) Readiness(ctx context.Context) (reason, activeKID string) {
	reason, detail, kid := s.readiness(ctx)
	if detail != "" {
		reason += ": " + detail
	}
	return reason, kid
}

// readiness is Readiness with the reason and its detail apart.
func (s *Server) readiness(ctx context.Context) (reason, detail, activeKID string) {
	snap := s.keys.Ring().Load()
	kid := ""
	if snap != nil && snap.Active() != nil {
		kid = snap.Active().KID
	}
	if u := s.keys.Unusable(); u != nil {
		return "signing keys unusable since " + u.Since.UTC().Format(time.RFC3339), u.Reason, kid
	}
	if kid == "" {
		return "no signing key loaded", "", ""
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.ready.Ready(ctx); err != nil {
		return "database unreachable", "", ""
	}
	return "", "", kid
}

// discoveryCache holds what the well-known handlers compute once: the
// discovery document, and the JWKS header values of the latest snapshot.
type discoveryCache struct {
	discoveryOnce  sync.Once
	discoveryBytes []byte
	asBytes        []byte
	jwksCache      atomic.Pointer[jwksHeaders]
}
