package authority

import (
	"context"
	"crypto/subtle"
	"errors"
	"sync"
	"time"
)

// The first-run set-up link: when a server starts with no administrator,
// it makes a one-time token and prints a link with it, so the person who
// started it can create the first administrator in a browser, without
// SIGIL_ADMIN_EMAIL and a restart. The token is kept only as a hash, in
// the memory of the process that printed it; it is good for SetupLinkTTL,
// once, and only while no administrator exists.

// SetupLinkTTL is how long a set-up link is good for.
const SetupLinkTTL = time.Hour

// setupTokenBytes is the size of a set-up token's random part.
const setupTokenBytes = 32

var (
	// ErrSetupLinkInvalid: the set-up token is unknown, used or expired.
	ErrSetupLinkInvalid = errors.New("the set-up link is unknown, used or expired")
	// ErrSetupDone: an administrator exists, so no set-up link works.
	ErrSetupDone = errors.New("an administrator exists already")
)

// emailVerifiedStore is the store's way to mark an email verified (the
// account package's store has it; package store satisfies both): the
// first administrator chose their own address on the set-up page, with
// the token only the operator saw.
type emailVerifiedStore interface {
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
}

// setupLink is the live set-up token of the process, if any.
type setupLink struct {
	mu      sync.Mutex
	hash    string // HashToken of the token; empty when there is none
	expires time.Time
}

// NewSetupToken makes the process's one-time set-up token when no
// administrator exists and returns it; it returns "" when one exists. A
// new token replaces the previous one.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	exists, err := s.store.AdminExists(ctx)
	if err != nil || exists {
		return "", err
	}
	tok := RandomToken(setupTokenBytes)
	s.setup.mu.Lock()
	s.setup.hash, s.setup.expires = HashToken(tok), s.now().Add(SetupLinkTTL)
	s.setup.mu.Unlock()
	return tok, nil
}

// CheckSetupToken reports whether token opens the set-up page: nil, or
// ErrSetupDone once an administrator exists, or ErrSetupLinkInvalid.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	return s.checkSetupLocked(ctx, token)
}

// checkSetupLocked is CheckSetupToken with s.setup.mu held. A token is
// voided as soon as an administrator is seen to exist.
func (s *Service) checkSetupLocked(ctx context.Context, token string) error {
	exists, err := s.store.AdminExists(ctx)
	if err != nil {
		return err
	}
	if exists {
		s.setup.hash = ""
		return ErrSetupDone
	}
	if s.setup.hash == "" || token == "" || !s.now().Before(s.setup.expires) ||
		subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(s.setup.hash)) != 1 {
		return ErrSetupLinkInvalid
	}
	return nil
}

// CreateFirstAdmin creates the first administrator, email verified, with
// the set-up token, and spends the token. The email and password follow
// the sign-up rules (a *ValidationError names the field); a failure
// leaves the token good, so the form can be sent again.
func (s *Service) CreateFirstAdmin(ctx context.Context, token string, in Signup, meta Meta) (User, error) {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	if err := s.checkSetupLocked(ctx, token); err != nil {
		return User{}, err
	}
	in.Admin = true
	meta.Actor = "setup-link"
	u, err := s.Signup(ctx, in, meta)
	if err != nil {
		return User{}, err
	}
	s.setup.hash = ""
	now := s.now().UTC()
	ev, ok := s.store.(emailVerifiedStore)
	if !ok {
		return u, nil
	}
	if err := ev.SetEmailVerified(ctx, u.ID, u.Email, now); err != nil {
		// The administrator exists; an unverified email only matters
		// where verification is required, and can be verified later.
		s.log.Warn("first administrator's email not marked verified", "user_id", u.ID, "err", err)
	} else {
		u.EmailVerified = true
	}
	s.log.Info("first administrator created through the set-up link", "user_id", u.ID)
	return u, nil
}
