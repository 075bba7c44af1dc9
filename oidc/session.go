package oidc

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sigil-auth/sigil/authority"
)

// BrowserSession is a sign-in on the hosted pages: the cookie that gives
// single sign-on across clients. Only the SHA-256 of the cookie's value is
// stored; ID is the session's public name (the sid claim).
type BrowserSession struct {
	ID         string
	TokenHash  string
	UserID     string
	AuthTime   time.Time
	AMR        []string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
	UserAgent  string
	IP         string
	// user is the account as Service.BrowserSession read it with the
	// session, in this request; NextStep uses it instead of reading it
	// again. nil for a session that did not come from there.
	user *authority.User
}

// AuthCode is an authorization code as stored: only the SHA-256 of the
// code, and everything the code is bound to.
type AuthCode struct {
	Hash          string
	ClientID      string
	UserID        string
	SessionID     string
	RedirectURI   string
	Scope         string
	Nonce         string
	CodeChallenge string
	AuthTime      time.Time
	AMR           []string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time
	// FamilyID, AccessJTI and AccessExp name what the first redemption
	// issued, so that a replay can revoke it.
	FamilyID  string
	AccessJTI string
	AccessExp time.Time
	// Resource is the resource indicator (RFC 8707) of the request,
	// empty for none.
	Resource string
	// User is the account the code was issued to, as RedeemAuthCode
	// found it, read in the same statement as the code.
	User authority.User
	// Session is the browser session the code was issued in as
	// RedeemAuthCode found it, read in the same statement as the code:
	// its ID, UserID, ExpiresAt and RevokedAt; the zero value when the
	// session no longer exists.
	Session BrowserSession
}

// Consent is what a user has allowed a third-party client.
type Consent struct {
	ClientID   string
	ClientName string
	Scopes     []string
	UpdatedAt  time.Time
}

// SessionCookieBytes is the size of a session cookie's random value.
const sessionCookieBytes = 32

// SignIn checks an email and password exactly as Login does (one answer
// for unknown email and wrong password, throttling, lockout, the hashing
// gate) and returns the browser session the user is now signed in with,
// and a new cookie value (shown this once, stored only hashed).
//
// current is the browser's live session, if any. When it belongs to the
// same user (a sign-in again for prompt=login or max_age) it is kept with
// a new auth_time, so its sid stays the same for every client, under a
// new cookie value. A session of another user is ended.
func (s *Service) SignIn(ctx context.Context, email, password string, meta authority.Meta, current *BrowserSession) (BrowserSession, authority.User, string, error) {
	// A user with a second factor goes on with CompleteSignIn; one who
	// must enrol first gets no session.
	u, err := s.core.AuthenticatePassword(ctx, email, password, meta)
	if err != nil {
		return BrowserSession{}, authority.User{}, "", err
	}
	return s.startBrowserSession(ctx, u, []string{"pwd"}, meta, current)
}

// CompleteSignIn finishes a hosted sign-in that answered MFARequiredError,
// as CompleteLogin does for /auth/login, and returns the browser session
// as SignIn does, its amr naming both factors.
func (s *Service) CompleteSignIn(ctx context.Context, mfaToken, code string, meta authority.Meta, current *BrowserSession) (BrowserSession, authority.User, string, error) {
	u, amr, method, err := s.factors.PassSecondFactor(ctx, mfaToken, code, meta)
	if err != nil {
		return BrowserSession{}, authority.User{}, "", err
	}
	sess, u, cookie, err := s.startBrowserSession(ctx, u, amr, meta, current)
	if err == nil {
		s.audit(ctx, authority.Event{Type: authority.EventMFASuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "second factor on the hosted page: " + method})
	}
	return sess, u, cookie, err
}

// StartSession signs in a user whom the core authenticated by other means
// than a password (a passkey, a second factor enrolled during sign-in)
// with amr, as SignIn does after a password: see startBrowserSession.
func (s *Service) StartSession(ctx context.Context, u authority.User, amr []string, meta authority.Meta, current *BrowserSession) (BrowserSession, authority.User, string, error) {
	return s.startBrowserSession(ctx, u, amr, meta, current)
}

// startBrowserSession signs u in on the hosted pages with amr: current
// (a live session of the same user) is re-authenticated, any other ended
// and replaced. Either way the cookie is new (the value a sign-in
// replaces stops working, so a cookie planted or seen before the sign-in
// is worth nothing after it); a re-authenticated session keeps its id.
func (s *Service) startBrowserSession(ctx context.Context, u authority.User, amr []string, meta authority.Meta, current *BrowserSession) (BrowserSession, authority.User, string, error) {
	s.core.RememberProfile(u)
	if current != nil && current.UserID == u.ID {
		amr = keepUpstream(current.AMR, amr)
		at := s.now().UTC().Truncate(time.Second)
		cookie := authority.RandomToken(sessionCookieBytes)
		err := s.store.ReauthBrowserSession(ctx, current.ID, authority.HashToken(cookie), at, amr)
		if err == nil {
			sess := *current
			sess.TokenHash, sess.AuthTime, sess.AMR = authority.HashToken(cookie), at, amr
			s.audit(ctx, authority.Event{Type: authority.EventSessionLogin, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "signed in again on the hosted page; session " + sess.ID})
			return sess, u, cookie, nil
		}
		if !errors.Is(err, authority.ErrNotFound) {
			return BrowserSession{}, authority.User{}, "", err
		}
		// The session ended meanwhile: open a new one.
		current = nil
	}
	if current != nil {
		if err := s.EndBrowserSession(ctx, current.ID, meta); err != nil {
			return BrowserSession{}, authority.User{}, "", err
		}
	}
	sess, cookie, err := s.openBrowserSession(ctx, u, amr, meta)
	if err != nil {
		return BrowserSession{}, authority.User{}, "", err
	}
	s.audit(ctx, authority.Event{Type: authority.EventSessionLogin, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "signed in on the hosted page; session " + sess.ID})
	return sess, u, cookie, nil
}

// SignUpBrowser creates an account as Signup does and signs its owner in
// with a new browser session.
func (s *Service) SignUpBrowser(ctx context.Context, in authority.Signup, meta authority.Meta) (BrowserSession, authority.User, string, error) {
	in.Admin = false
	if s.cfg.RequireVerifiedEmail {
		// No session before the email is verified, and the same answer
		// for a new and a registered email.
		if err := s.core.SignupPrivate(ctx, in, meta); err != nil {
			return BrowserSession{}, authority.User{}, "", err
		}
		return BrowserSession{}, authority.User{}, "", authority.ErrEmailNotVerified
	}
	u, err := s.core.Signup(ctx, in, meta)
	if err != nil {
		return BrowserSession{}, authority.User{}, "", err
	}
	sess, cookie, err := s.openBrowserSession(ctx, u, []string{"pwd"}, meta)
	if err != nil {
		return BrowserSession{}, authority.User{}, "", err
	}
	s.audit(ctx, authority.Event{Type: authority.EventSessionLogin, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "signed up on the hosted page; session " + sess.ID})
	return sess, u, cookie, nil
}

func (s *Service) openBrowserSession(ctx context.Context, u authority.User, amr []string, meta authority.Meta) (BrowserSession, string, error) {
	cookie := authority.RandomToken(sessionCookieBytes)
	now := s.now().UTC()
	sess := BrowserSession{
		ID: authority.NewTokenID(), TokenHash: authority.HashToken(cookie), UserID: u.ID, AuthTime: now.Truncate(time.Second), AMR: amr,
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL),
		UserAgent: cleanUserAgent(meta.UserAgent), IP: meta.IP,
	}
	if err := s.store.CreateBrowserSession(ctx, sess); err != nil {
		return BrowserSession{}, "", err
	}
	return sess, cookie, nil
}

// ErrNoSession means a request carries no valid browser session.
var ErrNoSession = errors.New("no valid browser session")

// sessionTouchEvery bounds the writes of last-used times: a session used
// many times a minute is written once.
const sessionTouchEvery = time.Minute

// BrowserSession returns the live session named by a cookie value and its
// user, or ErrNoSession when the cookie is missing, unknown, expired or
// revoked, or its user is gone.
func (s *Service) BrowserSession(ctx context.Context, cookie string) (BrowserSession, authority.User, error) {
	if len(cookie) != 43 || !authority.PlausibleToken(cookie) {
		return BrowserSession{}, authority.User{}, ErrNoSession
	}
	sess, u, err := s.store.BrowserSessionByHash(ctx, authority.HashToken(cookie))
	if errors.Is(err, authority.ErrNotFound) {
		return BrowserSession{}, authority.User{}, ErrNoSession
	}
	if err != nil {
		return BrowserSession{}, authority.User{}, err
	}
	now := s.now().UTC()
	if !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt) {
		return BrowserSession{}, authority.User{}, ErrNoSession
	}
	if now.Sub(sess.LastUsedAt) >= sessionTouchEvery {
		if err := s.store.TouchBrowserSession(ctx, sess.ID, now); err != nil {
			s.log.Warn("session last-used time not recorded", "err", err)
		}
		sess.LastUsedAt = now
	}
	sess.user = &u
	return sess, u, nil
}

// EndBrowserSession signs a browser session out: the session and the
// refresh tokens issued through it are revoked, and the access tokens
// issued through it (refreshed or issued by a code, with or without a
// refresh token) are denied. Ending a session that is unknown or already
// over is no error.
func (s *Service) EndBrowserSession(ctx context.Context, id string, meta authority.Meta) error {
	if !authority.PlainID(id) {
		return nil
	}
	userID, fams, err := s.store.EndBrowserSession(ctx, id, s.now().UTC())
	if errors.Is(err, authority.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.core.DenyFamilies(ctx, fams); err != nil {
		return err
	}
	actor := meta.Actor
	if actor == "" {
		actor = userID
	}
	s.audit(ctx, authority.Event{Type: authority.EventSessionLogout, Actor: actor, UserID: userID, IP: meta.IP, Detail: "browser session " + id + " ended"})
	return nil
}

// cleanUserAgent keeps a printable prefix of a User-Agent for display.
func cleanUserAgent(ua string) string {
	if !utf8.ValidString(ua) {
		return ""
	}
	ua = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, ua)
	if len(ua) > 256 {
		ua = ua[:256]
		for !utf8.ValidString(ua) {
			ua = ua[:len(ua)-1]
		}
	}
	return ua
}
