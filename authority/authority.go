// Package authority is Sigil's domain: accounts, login, access tokens and
// refresh tokens. It declares the storage it needs as small interfaces that
// the store package satisfies, and never touches SQL or HTTP itself.
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
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Roles returns the roles carried in the user's access tokens.
func (u User) Roles() []string {
	if u.Admin {
		return []string{"admin"}
	}
	return []string{}
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

// SessionStore keeps refresh tokens.
type SessionStore interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
}

// Auditor appends to the audit log.
type Auditor interface {
	RecordEvent(ctx context.Context, e Event) error
}

// Store is everything the authority keeps.
type Store interface {
	UserStore
	SessionStore
	Auditor
}

// Config holds the authority's settings.
type Config struct {
	Issuer     string
	Audience   string        // default aud of login tokens
	AccessTTL  time.Duration // access-token lifetime
	RefreshTTL time.Duration // refresh-token absolute lifetime
	Argon2     Argon2Params
	// LoginClientID is the client_id of tokens issued by /auth/login.
	LoginClientID string

	// MaxConcurrentHashes bounds the password hashes (login, signup, and
	// the dummy hash for unknown emails) that run at once; 0 means
	// runtime.GOMAXPROCS(0), one per core.
	MaxConcurrentHashes int
	// MaxHashQueue bounds the requests waiting for a hashing slot; 0 means
	// as many as MaxConcurrentHashes, a negative value means none wait.
	MaxHashQueue int
	// HashQueueWait is the longest a request waits for a hashing slot
	// before it gets ErrOverloaded; 0 means DefaultHashQueueWait.
	HashQueueWait time.Duration
}

// Service implements signup, login and token verification.
type Service struct {
	cfg   Config
	store Store
	ring  *keys.Ring
	now   func() time.Time
	log   *slog.Logger

	// dummyHash is verified for unknown emails, so a login costs the same
	// whether or not the account exists.
	dummyHash string
	profiles  profileCache
	onIssue   func(alg, grant string)
	hashes    *hashGate
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummy, err := cfg.Argon2.Hash(randomHex(16))
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: store, ring: ring, now: now, log: log, dummyHash: dummy,
		hashes: newHashGate(cfg.MaxConcurrentHashes, cfg.MaxHashQueue, cfg.HashQueueWait)}, nil
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
