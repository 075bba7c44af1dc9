package authority

import (
	"context"
	"time"
	"unicode/utf8"
)

// Mail is a message the authority asks to send. Kind names its template
// (see package mail); Link, when set, is the one link it carries.
type Mail struct {
	Kind    string
	To      string
	UserID  string
	Name    string
	Email   string // the address the message is about
	Link    string
	Expires time.Duration // how long Link works
	// Factor names the second factor a notice of MailFactorAdded or
	// MailFactorRemoved is about.
	Factor string
}

// Mailer queues mail. It must not wait on a mail server: a request that
// sends mail answers as fast whether the server is up, slow or down.
type Mailer interface {
	Queue(ctx context.Context, m Mail) error
}

type discardMailer struct{}

func (discardMailer) Queue(context.Context, Mail) error { return nil }

// SetMailer sets where the authority's mail goes (by default nowhere).
// Call it before serving.
func (s *Service) SetMailer(m Mailer) { s.mailer = m }

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

// AccountToken is a mailed single-use token as stored: only its hash.
type AccountToken struct {
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

// UserPage is one page of a user listing.
type UserPage struct {
	Users []User
	// Next is the cursor of the next page, empty on the last.
	Next string
}

// AccountStore keeps what account management needs.
type AccountStore interface {
	CreateAccountToken(ctx context.Context, t AccountToken) error
	// AccountTokenByHash returns ErrNotFound for no such token.
	AccountTokenByHash(ctx context.Context, hash string) (AccountToken, error)
	// UseAccountToken marks the token used at at if it is still unused and
	// unexpired, else ErrNotFound (compare-and-swap: one use only).
	UseAccountToken(ctx context.Context, hash string, at time.Time) error
	// SetEmailVerified marks the user's email verified if it is still
	// email; ErrNotFound otherwise.
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
	// ChangeEmail replaces the user's email by a verified new one;
	// ErrEmailTaken if another account has it.
	ChangeEmail(ctx context.Context, userID, email string, at time.Time) error
	// CancelAccountTokens spends every live mailed token of the user
	// and returns how many.
	CancelAccountTokens(ctx context.Context, userID string, at time.Time) (int, error)
	// SetPasswordHash replaces the user's password hash.
	SetPasswordHash(ctx context.Context, userID, hash string, at time.Time) error
	// UserSessions returns the user's live refresh-token families.
	UserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeUserSessions revokes every session of the user except except
	// (may be empty) and returns the families whose access tokens are to
	// be denied (the refresh-token families it revoked and those of the
	// code-flow access tokens issued outside except that may still live)
	// and how many sessions it ended. It marks the sessions ended before
	// it reads the codes, so a code redeemed concurrently is either seen
	// or finds its session ended.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (families []string, n int, err error)
	// RevokeUserSession revokes one session (browser session or family) of
	// the user and returns the families whose access tokens are to be
	// denied (for a browser session, those of the code-flow access tokens
	// issued in it too); ErrNotFound if the user has no such live session.
	RevokeUserSession(ctx context.Context, userID, id string, at time.Time) (families []string, err error)
	// DeleteUser removes the account and every row that is about it
	// (tokens, sessions, queued mail, login throttle); ErrNotFound for no
	// such user.
	DeleteUser(ctx context.Context, id string) error
	// SetLocked locks or unlocks an account; ErrNotFound for no such user.
	SetLocked(ctx context.Context, id string, locked bool, at time.Time) error
	// SetRoles sets the admin flag and the other roles; ErrNotFound for no
	// such user.
	SetRoles(ctx context.Context, id string, admin bool, extra []string, at time.Time) error
	// ListUsers returns up to limit users ordered by email after cursor
	// (an email, exclusive), whose email contains query when not empty.
	ListUsers(ctx context.Context, query, cursor string, limit int) (UserPage, error)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// QueueMail hands m to the mailer (package mail's outbox in production).
func (s *Service) QueueMail(ctx context.Context, m Mail) error { return s.mailer.Queue(ctx, m) }
