package inspect

import (
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Service is the token inspector of one authority.
type Service struct {
	core *authority.Service
	ring *keys.Ring
}

// New returns the inspector of core's tokens, whose keys are in ring.
func New(core *authority.Service, ring *keys.Ring) *Service {
	return &Service{core: core, ring: ring}
}

// invalid is the core's validation error for field.
func invalid(field, reason string) error {
	return &authority.ValidationError{Field: field, Reason: reason}
}
