package mfa

import (
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Store is what second factors keep, and the one record of the core they
// read (the user, for names and state). Package store satisfies it;
// authority.ErrNotFound and ErrConflict are the core's.
type Store interface {
	FactorStore
	WebAuthnStore
	// UserByID returns authority.ErrNotFound for no such user.
	UserByID(ctx context.Context, id string) (authority.User, error)
}

// Config holds the settings of second factors.
type Config struct {
	// Issuer is Sigil's issuer URL: the default relying-party ID and
	// origin of WebAuthn, and the label of TOTP authenticators.
	Issuer string
	// Sealer seals TOTP secrets at rest with the key-encryption keys that
	// seal the signing keys; nil turns TOTP enrolment off.
	Sealer *keys.Sealer
	// WebAuthnRPID is the WebAuthn relying-party ID (default: the
	// issuer's host).
	WebAuthnRPID string
	// WebAuthnOrigins are the origins a WebAuthn answer may come from
	// (default: the issuer's origin).
	WebAuthnOrigins []string
	// Product names the relying party in authenticators (default Sigil).
	Product string
}

// Service is second factors: TOTP with recovery codes, passkeys and
// security keys, the step of a sign-in that needs one and the enrolment
// that a role requires. It asks the core for passwords, the throttle,
// tokens, mail and audit.
type Service struct {
	core  *authority.Service
	store Store
	cfg   Config
	// wa is the WebAuthn relying party; nil when the settings do not
	// make one (then WebAuthn answers ErrWebAuthnUnavailable).
	wa *webauthn.WebAuthn
}

// New returns the second factors of core and sets them as its
// SecondFactorGate, so that every password sign-in of core asks them.
func New(core *authority.Service, store Store, cfg Config) *Service {
	if cfg.Issuer == "" {
		cfg.Issuer = core.Config().Issuer
	}
	log := core.Log()
	wa, err := newRelyingParty(cfg)
	var ipHost *rpIPError
	switch {
	case errors.As(err, &ipHost):
		// The quick start's issuer: not a failure, but say how to get passkeys.
		log.Info("passkeys are off: they need a host name, not an IP address; " + ipHost.advice())
		wa = nil
	case err != nil:
		log.Warn("WebAuthn is off", "err", err)
		wa = nil
	}
	s := &Service{core: core, store: store, cfg: cfg, wa: wa}
	core.SetSecondFactorGate(s)
	return s
}

// invalid is the core's validation error for field.
func invalid(field, reason string) error {
	return &authority.ValidationError{Field: field, Reason: reason}
}
