package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Protected resource metadata (RFC 9728): a resource server that names
// itself with [WithResource] tells clients which authorization server
// issues its tokens. [Verifier.Middleware] points every challenge at the
// metadata (WWW-Authenticate: Bearer resource_metadata="…"), and
// [Verifier.ResourceMetadataHandler] serves it, so a client that meets
// the resource first (an MCP client, say) finds Sigil from a 401 alone.
//
//	v, err := verify.New(ctx, "https://sigil.example.com",
//		verify.WithResource("https://mcp.example.com/mcp"))
//	mux.Handle(v.ResourceMetadataPath(), v.ResourceMetadataHandler())
//	mux.Handle("/mcp", v.Middleware(mcpHandler))

// wellKnownResource is the well-known name of RFC 9728's metadata.
const wellKnownResource = "/.well-known/oauth-protected-resource"

// resourceMetadata is the RFC 9728 document.
type resourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// WithResource names the resource server: its resource identifier (RFC
// 8707 and RFC 9728), the URL clients ask tokens for with the resource
// parameter, e.g. "https://mcp.example.com/mcp". Sigil issues such
// tokens with the resource as their only audience, so without
// [WithAudience] the Verifier accepts exactly that audience. The
// identifier must be an absolute http or https URL without a fragment.
func WithResource(resource string) Option {
	return func(c *config) { c.resource = resource }
}

// WithResourceName sets the human-readable resource_name of the
// metadata (RFC 9728 section 2).
func WithResourceName(name string) Option {
	return func(c *config) { c.resourceName = name }
}

// checkResource validates a WithResource identifier and returns its
// metadata URL.
func checkResource(resource string) (string, error) {
	u, err := url.Parse(resource)
	switch {
	case err != nil:
		return "", fmt.Errorf("verify: resource %q: %w", resource, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "", fmt.Errorf("verify: resource %q is not an absolute http or https URL", resource)
	case u.Fragment != "" || strings.Contains(resource, "#"):
		return "", fmt.Errorf("verify: resource %q has a fragment, which RFC 8707 forbids", resource)
	case u.User != nil:
		return "", errors.New("verify: resource must not carry user information")
	}
	// RFC 9728 section 3.1: the well-known part goes between the host and
	// the resource's path; a path of "/" counts as none.
	m := url.URL{Scheme: u.Scheme, Host: u.Host, Path: wellKnownResource + strings.TrimSuffix(u.Path, "/"), RawQuery: u.RawQuery}
	return m.String(), nil
}

// ResourceMetadataURL returns the URL of the resource's RFC 9728
// metadata, "" without [WithResource].
func (v *Verifier) ResourceMetadataURL() string { return v.metadataURL }

// ResourceMetadataPath returns the path to serve
// [Verifier.ResourceMetadataHandler] at on the resource server, as a
// [http.ServeMux] pattern wants it; "" without [WithResource].
func (v *Verifier) ResourceMetadataPath() string {
	if v.metadataURL == "" {
		return ""
	}
	u, _ := url.Parse(v.metadataURL)
	return u.Path
}

// ResourceMetadataHandler serves the resource's RFC 9728 metadata (GET
// and HEAD): the resource identifier, the issuer as its one
// authorization server, bearer tokens in the Authorization header, and
// the required scopes ([WithRequiredScopes]) as scopes_supported. The
// document is public and may be read from any origin. Without
// [WithResource] it answers 404.
func (v *Verifier) ResourceMetadataHandler() http.Handler {
	var body []byte
	if v.metadataURL != "" {
		body, _ = json.Marshal(resourceMetadata{
			Resource:               v.cfg.resource,
			AuthorizationServers:   []string{v.issuer},
			BearerMethodsSupported: []string{"header"},
			ScopesSupported:        v.cfg.scopes,
			ResourceName:           v.cfg.resourceName,
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body == nil {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
