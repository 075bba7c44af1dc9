package oidc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigil-auth/sigil/authority"
)

// Resource is a registered resource server (RFC 8707): a client may ask
// for an access token whose audience is its URI alone.
type Resource struct {
	ID        string
	URI       string
	Name      string
	CreatedAt time.Time
}

// ErrResourceTaken means a resource with the same URI is registered.
var ErrResourceTaken = errors.New("a resource with this uri is already registered")

// MaxResourceNameRunes bounds a resource's name.
const MaxResourceNameRunes = 200

// ResourceStore keeps the registered resources. Package store satisfies
// it.
type ResourceStore interface {
	// CreateResource returns ErrResourceTaken when the URI is taken.
	CreateResource(ctx context.Context, r Resource) error
	// ResourceByURI returns authority.ErrNotFound for no such resource.
	ResourceByURI(ctx context.Context, uri string) (Resource, error)
	// Resources lists every resource, oldest first.
	Resources(ctx context.Context) ([]Resource, error)
	// DeleteResource returns authority.ErrNotFound for no such resource.
	DeleteResource(ctx context.Context, id string) error
}

// CreateResource registers a resource server. uri must be an absolute
// https URL (http only on a loopback host), without fragment or user
// information, and not Sigil's own audience; name is what the console
// and the audit log show.
func (s *Service) CreateResource(ctx context.Context, uri, name string, meta authority.Meta) (Resource, error) {
	uri = strings.TrimSpace(uri)
	if err := s.validateResourceURI(uri); err != nil {
		return Resource{}, err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return Resource{}, &authority.ValidationError{Field: "name", Reason: "is required"}
	case !utf8.ValidString(name) || strings.IndexFunc(name, invisible) >= 0:
		return Resource{}, &authority.ValidationError{Field: "name", Reason: "contains control characters"}
	case utf8.RuneCountInString(name) > MaxResourceNameRunes:
		return Resource{}, &authority.ValidationError{Field: "name", Reason: fmt.Sprintf("must be at most %d characters", MaxResourceNameRunes)}
	}
	r := Resource{ID: authority.NewID(), URI: uri, Name: name, CreatedAt: s.now().UTC()}
	if err := s.resources.CreateResource(ctx, r); err != nil {
		return Resource{}, err
	}
	s.audit(ctx, authority.Event{Type: authority.EventResourceCreated, Actor: meta.Actor, IP: meta.IP,
		Detail: "resource " + r.ID + " " + r.URI})
	return r, nil
}

// validateResourceURI checks the URI of a resource to register (RFC 8707
// §2: an absolute URI without fragment).
func (s *Service) validateResourceURI(uri string) error {
	bad := func(reason string) error { return &authority.ValidationError{Field: "uri", Reason: reason} }
	if uri == "" {
		return bad("is required")
	}
	if !authority.PlausibleResource(uri) {
		return bad(fmt.Sprintf("must be printable ASCII without spaces, at most %d bytes", authority.MaxResourceBytes))
	}
	u, err := url.Parse(uri)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute URL")
	case strings.Contains(uri, "#"):
		return bad("must not have a fragment")
	case u.User != nil:
		return bad("must not carry user information")
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return bad("must use https (http only on a loopback host)")
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("must use https")
	case uri == s.cfg.Audience:
		return bad("is Sigil's own audience (SIGIL_AUDIENCE), which no resource may have")
	}
	return nil
}

// loopbackHost reports whether host names the local machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Resources lists the registered resources, oldest first.
func (s *Service) Resources(ctx context.Context) ([]Resource, error) {
	return s.resources.Resources(ctx)
}

// DeleteResource removes a registered resource: from then on no token is
// issued for it (refreshing a family granted for it is invalid_target);
// access tokens already issued for it live out their lifetime.
func (s *Service) DeleteResource(ctx context.Context, id string, meta authority.Meta) error {
	if !authority.PlainID(id) {
		return authority.ErrNotFound
	}
	if err := s.resources.DeleteResource(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, authority.Event{Type: authority.EventResourceDeleted, Actor: meta.Actor, IP: meta.IP, Detail: "resource " + id})
	return nil
}

// ResourceByURI returns the registered resource uri names;
// authority.ErrNotFound for none.
func (s *Service) ResourceByURI(ctx context.Context, uri string) (Resource, error) {
	if !authority.PlausibleResource(uri) {
		return Resource{}, authority.ErrNotFound
	}
	return s.resources.ResourceByURI(ctx, uri)
}

// ResourceRegistered reports whether uri is a registered resource; it
// makes the flow the core's authority.ResourceRegistry.
func (s *Service) ResourceRegistered(ctx context.Context, uri string) (bool, error) {
	if !authority.PlausibleResource(uri) {
		return false, nil
	}
	_, err := s.resources.ResourceByURI(ctx, uri)
	if errors.Is(err, authority.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// resourceParam reads the resource indicator of a request: at most one
// (several would ask for a token with several audiences, which Sigil
// does not issue), and plausible. "" when absent.
func resourceParam(q url.Values) (string, error) {
	vs := q["resource"]
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", fmt.Errorf("%w: only one resource per request is supported", authority.ErrInvalidTarget)
	case !authority.PlausibleResource(vs[0]):
		return "", fmt.Errorf("%w: the resource is not registered", authority.ErrInvalidTarget)
	}
	return vs[0], nil
}
