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

// UserPage is one page of a user listing.
type UserPage struct {
	Users []User
	// Next is the cursor of the next page, empty on the last.
	Next string
}

// AccountStore keeps what the core's account management needs.
type AccountStore interface {
	// RevokeUserSessions revokes every session of the user except except
	// (may be empty) and returns the families whose access tokens are to
	// be denied (the refresh-token families it revoked and those of the
	// code-flow access tokens issued outside except that may still live)
	// and how many sessions it ended. It marks the sessions ended before
	// it reads the codes, so a code redeemed concurrently is either seen
	// or finds its session ended.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (families []string, n int, err error)
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

// SendsMail reports whether mail goes anywhere (SetMailer was called).
func (s *Service) SendsMail() bool {
	_, none := s.mailer.(discardMailer)
	return !none
}
