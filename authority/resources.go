package authority

import (
	"context"
	"errors"
	"fmt"
)

// ErrInvalidTarget is RFC 8707's invalid_target: a resource indicator that
// is not registered, malformed, given more than once, or other than the
// one a grant was issued for.
var ErrInvalidTarget = errors.New("invalid target")

// MaxResourceBytes bounds a resource indicator.
const MaxResourceBytes = 512

// ResourceRegistry answers whether a resource indicator names a
// registered resource server. The OpenID Connect flow (package oidc),
// which owns resources, satisfies it.
type ResourceRegistry interface {
	ResourceRegistered(ctx context.Context, uri string) (bool, error)
}

// SetResources sets the registry that resource indicators are checked
// against. Call it before serving.
func (s *Service) SetResources(r ResourceRegistry) { s.resources = r }

// NewID returns a random identifier (a version 4 UUID) for a record.
func NewID() string { return newUUID() }

// PlausibleResource reports whether uri could be a resource indicator:
// 1 to MaxResourceBytes of printable ASCII without spaces. Anything else
// is invalid_target before any store is asked.
func PlausibleResource(uri string) bool {
	if uri == "" || len(uri) > MaxResourceBytes {
		return false
	}
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] > '~' {
			return false
		}
	}
	return true
}

// ResourceAudience is the audience of an access token issued to client c
// for resource: the client's own audience (ClientAudience) when resource
// is empty, else resource alone, provided it is registered
// (ErrInvalidTarget otherwise). Sigil's own audience is never a
// resource's, so a token for a resource cannot call Sigil's API.
func (s *Service) ResourceAudience(ctx context.Context, c Client, resource string) (Audience, error) {
	if resource == "" {
		return s.ClientAudience(c), nil
	}
	if err := s.CheckResource(ctx, resource); err != nil {
		return nil, err
	}
	return Audience{resource}, nil
}

// CheckResource returns ErrInvalidTarget unless resource is a registered
// resource indicator (and not Sigil's own audience).
func (s *Service) CheckResource(ctx context.Context, resource string) error {
	if !PlausibleResource(resource) || resource == s.cfg.Audience || s.resources == nil {
		return fmt.Errorf("%w: the resource is not registered", ErrInvalidTarget)
	}
	ok, err := s.resources.ResourceRegistered(ctx, resource)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: the resource is not registered", ErrInvalidTarget)
	}
	return nil
}
