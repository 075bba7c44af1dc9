package account

import (
	"context"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// Kinds of single-use token mailed to users.
const (
	TokenVerifyEmail = "verify"
	TokenReset       = "reset"
	TokenEmailChange = "email_change"
)

// Lifetimes of mailed tokens.
const (
	VerifyTokenTTL = 24 * time.Hour
	ResetTokenTTL  = 30 * time.Minute
)

// Token is a mailed single-use token as stored: only its hash.
type Token struct {
	Hash      string
	Kind      string
	UserID    string
	Email     string // where the link was sent
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Session is one live session of a user: a browser session of the hosted
// pages or a refresh-token family.
type Session struct {
	ID         string
	Kind       string // "browser" or "refresh"
	ClientID   string
	CreatedAt  time.Time
	LastUsedAt time.Time
	UserAgent  string
	IP         string
}

// Store is what account self-service keeps: the mailed single-use
// tokens, email and password changes, a user's sessions, and the few
// records of the core it reads (users, the login throttle). Package
// store satisfies it; authority.ErrNotFound and ErrConflict are the
// core's.
type Store interface {
	CreateAccountToken(ctx context.Context, t Token) error
	// AccountTokenByHash returns authority.ErrNotFound for no such token.
	AccountTokenByHash(ctx context.Context, hash string) (Token, error)
	// UseAccountToken marks the token used at at if it is still unused and
	// unexpired, else authority.ErrNotFound (compare-and-swap: one use only).
	UseAccountToken(ctx context.Context, hash string, at time.Time) error
	// SetEmailVerified marks the user's email verified if it is still
	// email; authority.ErrNotFound otherwise.
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
	// ChangeEmail replaces the user's email by a verified new one;
	// authority.ErrEmailTaken if another account has it.
	ChangeEmail(ctx context.Context, userID, email string, at time.Time) error
	// CancelAccountTokens spends every live mailed token of the user
	// and returns how many.
	CancelAccountTokens(ctx context.Context, userID string, at time.Time) (int, error)
	// SetPasswordHash replaces the user's password hash.
	SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error
	// UserSessions returns the user's live sessions.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeUserSession revokes one session (browser session or family) of
	// the user and returns the families whose access tokens are to be
	// denied (for a browser session, those of the code-flow access tokens
	// issued in it too); authority.ErrNotFound if the user has no such
	// live session.
	RevokeUserSession(ctx context.Context, userID, id string, at time.Time) (families []string, err error)
	// ResetLoginThrottle forgets the failed logins of key (an email).
	ResetLoginThrottle(ctx context.Context, key string) error
	// UserByEmail and UserByID return authority.ErrNotFound for no such
	// user.
	UserByEmail(ctx context.Context, email string) (authority.User, error)
	UserByID(ctx context.Context, id string) (authority.User, error)
}
