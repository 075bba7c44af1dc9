package oidc

import (
	"context"
	"log/slog"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mfa"
)

// Store is what the flow keeps: browser sessions, authorization codes and
// consents, and the few records of the core it reads or writes directly
// (users, their second factors, refresh tokens). Package store satisfies
// it; authority.ErrNotFound and ErrConflict are the core's.
type Store interface {
	// UserByID returns authority.ErrNotFound for no such user.
	UserByID(ctx context.Context, id string) (authority.User, error)
	// UserFactors summarises the confirmed second factors of a user.
	UserFactors(ctx context.Context, userID string) (mfa.Factors, error)
	// CreateRefreshToken stores the first token of a refresh family.
	CreateRefreshToken(ctx context.Context, t authority.RefreshToken) error
	// RevokeRefreshFamily revokes every token of a family not yet
	// revoked and returns how many it revoked.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) (int, error)

	CreateBrowserSession(ctx context.Context, s BrowserSession) error
	// BrowserSessionByHash returns the session and its user, read
	// together; authority.ErrNotFound for no such session or user.
	BrowserSessionByHash(ctx context.Context, tokenHash string) (BrowserSession, authority.User, error)
	// TouchBrowserSession records that the session was used at at.
	TouchBrowserSession(ctx context.Context, id string, at time.Time) error
	// ReauthBrowserSession records a fresh sign-in in a live session and
	// the hash of its new cookie, so the old cookie stops working;
	// authority.ErrNotFound when the session has ended.
	ReauthBrowserSession(ctx context.Context, id, tokenHash string, authTime time.Time, amr []string) error
	// BrowserSessionByID returns authority.ErrNotFound for no such session.
	BrowserSessionByID(ctx context.Context, id string) (BrowserSession, error)
	// EndBrowserSession revokes the session id and, in the same
	// transaction, the refresh tokens issued through it. It returns the
	// user of the session and the families whose access tokens are to be
	// denied (its refresh-token families and those of the code-flow
	// access tokens issued in it); authority.ErrNotFound if it was unknown or
	// already ended.
	EndBrowserSession(ctx context.Context, id string, at time.Time) (string, []string, error)

	CreateAuthCode(ctx context.Context, c AuthCode) error
	// RedeemAuthCode marks the unused code hash used at at, recording
	// what its redemption issues, and returns it. A code already used
	// comes back as it is stored with authority.ErrConflict, writing nothing; an
	// unknown code gives authority.ErrNotFound. Either way the code comes
	// with its user (AuthCode.User) and its browser session's state
	// (AuthCode.Session), read with it.
	RedeemAuthCode(ctx context.Context, hash string, at time.Time, familyID, accessJTI string, accessExp time.Time) (AuthCode, error)

	// ConsentedScopes returns the scopes the user has granted the client
	// (none if never).
	ConsentedScopes(ctx context.Context, userID, clientID string) ([]string, error)
	// GrantConsent adds scopes to those the user has granted the client.
	GrantConsent(ctx context.Context, userID, clientID string, scopes []string, at time.Time) error
	// Consents lists the clients the user has granted scopes, newest first.
	Consents(ctx context.Context, userID string) ([]Consent, error)
	// DeleteConsent forgets the user's consent for the client; authority.ErrNotFound
	// if there was none.
	DeleteConsent(ctx context.Context, userID, clientID string) error

	ResourceStore
	RegistrationStore
	DeviceStore
}

// Service is the OpenID Connect flow. It issues and checks what the flow
// owns (browser sessions, codes, consents, ID tokens, step tickets) and
// asks the core for everything else: passwords and second factors, access
// and refresh tokens, clients, the deny list, audit.
type Service struct {
	core      *authority.Service
	factors   *mfa.Service
	store     Store
	resources ResourceStore
	// registrations keeps the initial access tokens of dynamic client
	// registration.
	registrations RegistrationStore
	ring          *keys.Ring
	cfg           authority.Config
	log           *slog.Logger
	// now is the core's clock.
	now func() time.Time
	// steps seals the tickets of hosted sign-in steps.
	steps *keys.Sealer
	// pace is the polling pace of device codes (RFC 8628), in memory.
	pace *pacer
}

// New returns the flow on top of core and its second factors, keeping
// its records in store, signing ID tokens with the keys of ring and
// sealing the tickets of sign-in steps with the key-encryption keys kek
// (nil: a key of this process alone, for tests and single instances
// without TOTP). It makes the flow core's registry of resource
// indicators.
func New(core *authority.Service, factors *mfa.Service, store Store, ring *keys.Ring, kek *keys.Sealer) (*Service, error) {
	steps, err := newStepSealer(kek)
	if err != nil {
		return nil, err
	}
	s := &Service{core: core, factors: factors, store: store, resources: store, registrations: store, ring: ring, cfg: core.Config(), log: core.Log(), now: core.Now, steps: steps, pace: newPacer()}
	// Resources are the flow's; the core's grants (client_credentials,
	// refresh) check resource indicators against them.
	core.SetResources(s)
	return s, nil
}

func (s *Service) audit(ctx context.Context, e authority.Event) { s.core.Audit(ctx, e) }
