package authority

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sigil-auth/sigil/keys"
)

// User is an account.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	Admin        bool
	// EmailVerified is set once the owner opened a link mailed to Email.
	EmailVerified bool
	// Locked accounts cannot log in or refresh.
	Locked bool
	// ExtraRoles are the roles besides "admin" (which is Admin).
	ExtraRoles []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Roles returns the roles carried in the user's access tokens.
func (u User) Roles() []string {
	roles := make([]string, 0, 1+len(u.ExtraRoles))
	if u.Admin {
		roles = append(roles, "admin")
	}
	return append(roles, u.ExtraRoles...)
}

// RefreshToken is a refresh token as stored: only the SHA-256 of the token.
type RefreshToken struct {
	Hash      string
	FamilyID  string
	UserID    string
	ClientID  string
	Scope     string
	CreatedAt time.Time
	ExpiresAt time.Time
	SpentAt   time.Time
	RevokedAt time.Time
	// ReplacedBy is the hash of the successor of a spent token.
	ReplacedBy string
	// Resource is the resource indicator (RFC 8707) the family was
	// granted for, empty for none: its access tokens have that
	// audience alone, and a refresh may not ask for another.
	Resource string
	// GraceUsedAt is when the one retry allowed within the reuse grace
	// interval was spent.
	GraceUsedAt time.Time
	// UserAgent and IP describe where the family was started; each
	// successor carries them on.
	UserAgent string
	IP        string
	// SessionID is the browser session the family was issued through
	// (empty for /auth/login); ending that session revokes the family.
	SessionID string
	// AMR is how the user signed in when the family started (RFC 8176);
	// access tokens from refreshing carry it on.
	AMR []string
}

// Event is one audit-log entry. It never carries a secret.
type Event struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Type   string    `json:"type"`
	Actor  string    `json:"actor,omitempty"`
	UserID string    `json:"userId,omitempty"`
	KID    string    `json:"kid,omitempty"`
	IP     string    `json:"ip,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser inserts u; ErrEmailTaken if the email exists.
	CreateUser(ctx context.Context, u User) error
	// UserByEmail and UserByID return ErrNotFound for no such user.
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	// ReplacePasswordHash swaps the hash only if it is still old.
	ReplacePasswordHash(ctx context.Context, id, old, new string) error
	// AdminExists reports whether any administrator exists.
	AdminExists(ctx context.Context) (bool, error)
}

// SessionStore keeps refresh tokens. Every transition is a
// compare-and-swap in the database, so concurrent refreshes with one token
// never leave two live tokens in a family.
type SessionStore interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RefreshTokenByHash returns ErrNotFound for no such token.
	RefreshTokenByHash(ctx context.Context, hash string) (RefreshToken, error)
	// SpendRefreshToken marks the live token oldHash spent at next.CreatedAt
	// with next as its successor and stores next, in one transaction. It
	// returns ErrConflict, writing nothing, if oldHash is not live.
	SpendRefreshToken(ctx context.Context, oldHash string, next RefreshToken) error
	// RetryRefreshToken grants the one retry of a token spent at or after
	// graceStart: in one transaction it marks the grace used on oldHash
	// (whose successor must still be prevNext), revokes prevNext (which
	// must still be live) and stores next as the new successor. It returns
	// ErrConflict, writing nothing, if any of that no longer holds.
	RetryRefreshToken(ctx context.Context, oldHash, prevNext string, graceStart time.Time, next RefreshToken) error
	// RevokeRefreshFamily revokes every token of a family not yet revoked
	// and returns how many it revoked.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) (int, error)
}

// ClientStore keeps OAuth 2.0 clients.
type ClientStore interface {
	CreateClient(ctx context.Context, c Client) error
	// ClientByID returns ErrNotFound for no such client.
	ClientByID(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes the client and revokes its refresh tokens;
	// ErrNotFound for no such client.
	DeleteClient(ctx context.Context, id string, at time.Time) error
}

// DenyStore keeps the jti deny list of revoked access tokens.
type DenyStore interface {
	// DenyAccessToken adds jti until expiresAt and drops entries that
	// expired before the same moment.
	DenyAccessToken(ctx context.Context, jti string, expiresAt, at time.Time) error
	// DeniedAfter returns the entries with a sequence number above after
	// that have not expired by notExpiredAt, in sequence order.
	DeniedAfter(ctx context.Context, after int64, notExpiredAt time.Time) ([]DeniedToken, error)
}

// ImportStore adds users in bulk.
type ImportStore interface {
	// ExistingEmails returns those of emails that belong to accounts.
	ExistingEmails(ctx context.Context, emails []string) ([]string, error)
	// ImportUsers inserts every user in one transaction. If any email is
	// taken it writes nothing and returns the taken emails.
	ImportUsers(ctx context.Context, users []User) (taken []string, err error)
}

// Auditor appends to the audit log.
type Auditor interface {
	RecordEvent(ctx context.Context, e Event) error
}

// Store is everything the authority keeps.
type Store interface {
	UserStore
	SessionStore
	ClientStore
	DenyStore
	ImportStore
	Auditor
	ThrottleStore
	EventLog
	EmailDirectory
	AccountStore
	ClientSecretStore
	BuiltinClientStore
	CountStore
}

// Config holds the authority's settings.
type Config struct {
	Issuer     string
	Audience   string        // default aud of login tokens
	AccessTTL  time.Duration // access-token lifetime
	RefreshTTL time.Duration // refresh-token absolute lifetime
	Argon2     Argon2Params
	// LoginClientID is the client_id of tokens issued by /auth/login: a
	// public client, which may refresh and revoke its own tokens at
	// /oauth2/* without a secret.
	LoginClientID string
	// RefreshReuseGrace is how long after a refresh token is spent one
	// retry with it still succeeds; 0 turns retries off.
	RefreshReuseGrace time.Duration
	// DenyListRefresh is how stale this instance's copy of the access-token
	// deny list may get before Verify reloads it (default one second).
	DenyListRefresh time.Duration
	// LockoutThreshold is the number of failed logins in a row after
	// which an email is refused for a while (0: never).
	LockoutThreshold int

	// MaxConcurrentHashes bounds the password hashes (login, signup, and
	// the dummy hash for unknown emails) that run at once; 0 means
	// runtime.GOMAXPROCS(0), one per core.
	MaxConcurrentHashes int
	// MaxHashQueue bounds the requests waiting for a hashing slot; 0 means
	// eight per hashing slot, a negative value means none wait.
	MaxHashQueue int
	// MaxHashesPerClient bounds the hashing requests (running or waiting)
	// of one client address (an IPv6 /64 counting as one); 0 means a
	// quarter of the slots and queue, at least 2; negative turns the cap
	// off.
	MaxHashesPerClient int
	// HashQueueWait is the longest a request waits for a hashing slot
	// before it gets ErrOverloaded; 0 means DefaultHashQueueWait.
	HashQueueWait time.Duration

	// RequireVerifiedEmail refuses logins until the email is verified,
	// and makes signup answer alike for new and registered emails.
	RequireVerifiedEmail bool

	// SessionTTL is the lifetime of a browser session of the hosted
	// pages (default 24h).
	SessionTTL time.Duration

	// MFARequiredRoles are the roles whose users must enrol a second
	// factor before any login gives them tokens.
	MFARequiredRoles []string
}

// Service implements signup, login and token verification.
type Service struct {
	cfg   Config
	store Store
	ring  *keys.Ring
	now   func() time.Time
	log   *slog.Logger

	// resources tells which resource indicators are registered; nil
	// until SetResources (then every resource is invalid_target).
	resources ResourceRegistry
	// documents resolves client ID metadata documents; nil when off.
	documents ClientDocuments

	// dummyHash is verified for unknown emails, so a login costs the same
	// whether or not the account exists.
	dummyHash string
	// timing pads failed password checks to the slowest hash class.
	timing   checkTiming
	profiles profileCache
	onIssue  func(alg, grant string)
	deny     denyList
	// dummySecretHash is compared for unknown client ids, so an unknown
	// client costs the same as a wrong secret.
	dummySecretHash string
	hashes          *hashGate
	admitted        admission
	hashMem         *hashMemory
	headers         knownHeaders
	mailer          Mailer
	// gate decides on second factors after a correct password.
	gate SecondFactorGate
	// verifier mails verification links.
	verifier EmailVerifier
	// setup is the first-run set-up link of this process (setup.go).
	setup setupLink
}

// New returns a Service. now is the clock (nil means time.Now).
func New(cfg Config, store Store, ring *keys.Ring, now func() time.Time, log *slog.Logger) (*Service, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.AccessTTL <= 0 || cfg.RefreshTTL <= 0 {
		return nil, errors.New("authority: issuer, audience and token lifetimes are required")
	}
	if err := cfg.Argon2.Validate(); err != nil {
		return nil, err
	}
	if cfg.LoginClientID == "" {
		cfg.LoginClientID = "sigil"
	}
	if now == nil {
		now = time.Now
	}
	if cfg.RefreshReuseGrace < 0 {
		return nil, errors.New("authority: the refresh reuse grace must not be negative")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.DenyListRefresh <= 0 {
		cfg.DenyListRefresh = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummy, err := cfg.Argon2.Hash(randomHex(16))
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: store, ring: ring, now: now, log: log, dummyHash: dummy,
		dummySecretHash: HashToken(randomHex(32)),
		hashes:          newHashGate(cfg.MaxConcurrentHashes, cfg.MaxHashQueue, cfg.MaxHashesPerClient, cfg.HashQueueWait),
		mailer:          discardMailer{}}
	s.admitted.max = int64(s.hashes.slots + s.hashes.maxQueue)
	s.hashMem = newHashMemory(s.hashes.slots)
	return s, nil
}

// Config returns the service's settings.
func (s *Service) Config() Config { return s.cfg }

// audit records an event; a failure is logged, never returned, because the
// action it describes has already happened.
func (s *Service) audit(ctx context.Context, e Event) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if err := s.store.RecordEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Warn("audit event not recorded", "type", e.Type, "err", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
