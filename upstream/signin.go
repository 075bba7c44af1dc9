package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// Why a sign-in through an upstream failed. Every one ends the attempt:
// the caller shows a page with a way back to the login page and opens no
// session.
var (
	// ErrBadState: the callback's state is unknown, spent, of another
	// upstream or of another browser (forged or replayed).
	ErrBadState = errors.New("upstream: unknown, spent or foreign state")
	// ErrExpired: the sign-in at the upstream took too long.
	ErrExpired = errors.New("upstream: the sign-in expired")
	// ErrUnavailable: the upstream could not be reached, or answered
	// with something other than what the protocol says.
	ErrUnavailable = errors.New("upstream: unreachable")
	// ErrRefused: the upstream answered the sign-in with an error.
	ErrRefused = errors.New("upstream: the upstream refused the sign-in")
	// ErrRejected: what the upstream answered did not verify (issuer,
	// signature, audience, nonce, expiry).
	ErrRejected = errors.New("upstream: the upstream's answer did not verify")
	// ErrNoEmail: the upstream vouched for no email address.
	ErrNoEmail = errors.New("upstream: no email address from the upstream")
	// ErrNotFresh: a re-authentication came back with a sign-in at the
	// upstream older than the re-authentication, or one of no known
	// time: the upstream's session answered, not the user.
	ErrNotFresh = errors.New("upstream: the upstream did not sign the user in again")
)

// FreshSkew is how far the upstream's clock may be behind Sigil's when
// the time of its sign-in is checked.
const FreshSkew = time.Minute

// PendingTTL is how long a sign-in at the upstream, or a link waiting
// for a password, may take.
const PendingTTL = 10 * time.Minute

// AMRFederated is the amr value (RFC 8176 "fed") of a sign-in through an
// upstream.
const AMRFederated = "fed"

// Started is where to send the browser and the value it must keep (in a
// cookie) until the callback.
type Started struct {
	URL     string
	Browser string
}

// Result is the outcome of a callback or a link. User is set when the
// sign-in may go on (the caller opens a browser session with AMR);
// otherwise LinkTicket is set: the user must prove the password of the
// account with LinkEmail before the identity is linked to it.
type Result struct {
	User       authority.User
	AMR        []string
	Upstream   Upstream
	Authz      string
	Created    bool
	LinkTicket string
	LinkEmail  string
	// LinkedTo is the signed-in user a link started by BeginLink was
	// for; AlreadyLinked says the identity was theirs before.
	LinkedTo      string
	AlreadyLinked bool

	// outcome is the sign-in's outcome for Config.Observe.
	outcome string
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Service) open(ctx context.Context, u Upstream, fresh bool) (Connector, error) {
	opener := s.cfg.Openers[u.Type]
	if opener == nil {
		return nil, ErrUnsupportedType
	}
	secret, err := s.cfg.Sealer.Open(sealID(u.ID), u.SealedSecret)
	if err != nil {
		return nil, fmt.Errorf("open the secret of upstream %s: %w", u.ID, err)
	}
	var c Connector
	if fresh {
		// A fresh open reads the discovery document: a call to the
		// upstream. Otherwise the connector's cache answers.
		err = s.timed(u.ID, func() (err error) {
			c, err = opener(ctx, u, string(secret), s.CallbackURL(u.ID), fresh)
			return err
		})
	} else {
		c, err = opener(ctx, u, string(secret), s.CallbackURL(u.ID), fresh)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return c, nil
}

// Begin starts a sign-in at upstream id for the authorization request
// authz ("" for none): a state and nonce, and a PKCE verifier that is
// also the browser's cookie, so that only the browser that started the
// sign-in can finish it. Discovery of the upstream is bounded by the
// service's timeout; no hashing slot is held. fresh makes it a
// re-authentication: the upstream is asked to sign the user in anew and
// the callback refuses a sign-in there older than this start
// (ErrNotFresh), where the upstream's protocol says when it was.
func (s *Service) Begin(ctx context.Context, id, authz string, fresh bool, meta authority.Meta) (Started, error) {
	return s.begin(ctx, id, authz, "", fresh, meta)
}

// begin is Begin; userID, when set, makes the callback link the identity
// to that signed-in user instead of signing anyone in.
func (s *Service) begin(ctx context.Context, id, authz, userID string, fresh bool, meta authority.Meta) (Started, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return Started{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, err := s.open(ctx, u, true)
	if err != nil {
		s.fail(ctx, u.ID, "", meta, err)
		s.cfg.Observe(u.ID, outcomeOf(err))
		return Started{}, err
	}
	state, nonce, browser := authority.RandomToken(32), authority.RandomToken(24), authority.RandomToken(32)
	err = s.cfg.Store.PutPending(ctx, Pending{Hash: authority.HashToken(state), Kind: KindState, UpstreamID: u.ID,
		BrowserHash: authority.HashToken(browser), Nonce: nonce, Authz: authz, UserID: userID, ExpiresAt: s.cfg.Now().Add(PendingTTL), Fresh: fresh})
	if err != nil {
		return Started{}, err
	}
	return Started{URL: c.AuthURL(state, nonce, challenge(browser), fresh), Browser: browser}, nil
}

// Callback is what the upstream's redirect brought back.
type Callback struct {
	State, Code, Iss, Error string
	// Browser is the value Begin gave the browser.
	Browser string
	// SignedIn is the user of the browser's session, "" for none: a
	// link started by BeginLink finishes only for the user who started
	// it.
	SignedIn string
}

// take spends the pending record of value, checking it belongs to this
// upstream and this browser and has not expired.
func (s *Service) take(ctx context.Context, value, kind, upstreamID, browser string) (Pending, error) {
	if value == "" || browser == "" || len(value) > 200 {
		return Pending{}, ErrBadState
	}
	p, err := s.cfg.Store.TakePending(ctx, authority.HashToken(value), kind)
	if errors.Is(err, authority.ErrNotFound) {
		return Pending{}, ErrBadState
	}
	if err != nil {
		return Pending{}, err
	}
	if (upstreamID != "" && p.UpstreamID != upstreamID) ||
		subtle.ConstantTimeCompare([]byte(p.BrowserHash), []byte(authority.HashToken(browser))) != 1 {
		return Pending{}, ErrBadState
	}
	if !s.cfg.Now().Before(p.ExpiresAt) {
		return Pending{}, ErrExpired
	}
	return p, nil
}

// Finish ends a sign-in at upstream id from its callback: the state is
// spent whatever happens next; the code is redeemed and what the
// upstream answers verified; then the linking rules decide (see
// resolve). Every failure is audited.
func (s *Service) Finish(ctx context.Context, id string, cb Callback, meta authority.Meta) (Result, error) {
	res, err := s.finish(ctx, id, cb, meta)
	switch {
	case err != nil:
		s.fail(ctx, id, "", meta, err)
		s.observeFailure(ctx, id, err)
	case res.LinkTicket != "":
		s.cfg.Observe(id, OutcomeLinkAsked)
	case res.outcome != "":
		s.cfg.Observe(id, res.outcome)
	}
	return res, err
}

func (s *Service) finish(ctx context.Context, id string, cb Callback, meta authority.Meta) (Result, error) {
	if !ValidID(id) {
		return Result{}, ErrBadState
	}
	p, err := s.take(ctx, cb.State, KindState, id, cb.Browser)
	if err != nil {
		return Result{}, err
	}
	if p.UserID != "" && p.UserID != cb.SignedIn {
		return Result{}, ErrBadState
	}
	if cb.Error != "" {
		return Result{Authz: p.Authz, LinkedTo: p.UserID}, fmt.Errorf("%w: %.100q", ErrRefused, cb.Error)
	}
	u, err := s.Get(ctx, id)
	if errors.Is(err, authority.ErrNotFound) {
		return Result{}, ErrBadState
	}
	if err != nil {
		return Result{}, err
	}
	uctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, err := s.open(uctx, u, false)
	if err != nil {
		return Result{Authz: p.Authz}, err
	}
	var maxAge time.Duration
	if p.Fresh {
		// As old as this sign-in, measured on Sigil's clock (the
		// connector compares it with its own), with room for skew.
		maxAge = s.cfg.Now().Sub(p.ExpiresAt.Add(-PendingTTL)) + FreshSkew
	}
	var claims Claims
	err = s.timed(u.ID, func() (err error) {
		claims, err = c.Finish(uctx, cb.Code, cb.Iss, cb.Browser, p.Nonce, maxAge)
		return err
	})
	if err != nil {
		return Result{Authz: p.Authz}, err
	}
	if claims.Subject == "" {
		return Result{Authz: p.Authz}, fmt.Errorf("%w: no subject", ErrRejected)
	}
	if p.UserID != "" {
		res, err := s.linkSignedIn(ctx, u, claims, p.UserID, meta)
		res.Upstream, res.LinkedTo = u, p.UserID
		return res, err
	}
	res, err := s.resolve(ctx, u, claims, p.Authz, cb.Browser, meta)
	res.Authz, res.Upstream = p.Authz, u
	return res, err
}

// resolve applies the linking rules to what upstream u vouched for:
//
//   - an identity linked already signs its user in;
//   - else, with no account of that email, an account is created with
//     the upstream's email and its verification as the upstream says;
//   - else the account of that email is linked at once only when u's
//     linking is verified-email, the upstream says email_verified and
//     the account's email is verified; otherwise a link ticket asks the
//     account's password first.
//
// Never two accounts with one email.
func (s *Service) resolve(ctx context.Context, u Upstream, c Claims, authz, browser string, meta authority.Meta) (Result, error) {
	amr := []string{AMRFederated, IDPMark(u.ID)}
	idn, err := s.cfg.Store.IdentityBySubject(ctx, u.ID, c.Subject)
	switch {
	case err == nil:
		user, err := s.cfg.Core.UserByID(ctx, idn.UserID)
		if err != nil {
			return Result{}, err
		}
		if err := s.cfg.Core.LoginAllowed(ctx, user, meta); err != nil {
			return Result{}, err
		}
		s.succeeded(ctx, u, user, meta, "identity "+c.Subject)
		return Result{User: user, AMR: amr, outcome: OutcomeSignedIn}, nil
	case !errors.Is(err, authority.ErrNotFound):
		return Result{}, err
	}
	if c.Email == "" {
		return Result{}, ErrNoEmail
	}
	email, err := authority.NormalizeEmail(c.Email)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNoEmail, err)
	}
	now := s.cfg.Now().UTC().Truncate(time.Millisecond)
	identity := Identity{UpstreamID: u.ID, Subject: c.Subject, Email: email, CreatedAt: now}
	existing, err := s.cfg.Store.UserByEmail(ctx, email)
	if errors.Is(err, authority.ErrNotFound) {
		name, nerr := authority.ValidateName(c.Name)
		if nerr != nil {
			name = ""
		}
		user := authority.User{ID: authority.NewID(), Email: email, Name: name, CreatedAt: now, UpdatedAt: now, EmailVerified: c.EmailVerified}
		identity.UserID = user.ID
		err = s.cfg.Store.CreateLinkedUser(ctx, user, c.EmailVerified, identity)
		if errors.Is(err, authority.ErrEmailTaken) {
			// Created meanwhile: never a second account; ask for its
			// password as for any account of that email.
			existing, err = s.cfg.Store.UserByEmail(ctx, email)
		} else if err != nil {
			return Result{}, err
		} else {
			s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUserSignup, Actor: user.ID, UserID: user.ID, IP: meta.IP,
				Detail: fmt.Sprintf("through upstream %s, email verified by it: %t", u.ID, c.EmailVerified)})
			if err := s.cfg.Core.LoginAllowed(ctx, user, meta); err != nil {
				return Result{}, err
			}
			s.succeeded(ctx, u, user, meta, "new account")
			return Result{User: user, AMR: amr, Created: true, outcome: OutcomeCreated}, nil
		}
	}
	if err != nil {
		return Result{}, err
	}
	if u.Linking == LinkingVerifiedEmail && c.EmailVerified && existing.EmailVerified {
		identity.UserID = existing.ID
		if err := s.link(ctx, identity, meta, "automatically: verified email on both sides"); err != nil {
			return Result{}, err
		}
		if err := s.cfg.Core.LoginAllowed(ctx, existing, meta); err != nil {
			return Result{}, err
		}
		s.succeeded(ctx, u, existing, meta, "linked by verified email")
		return Result{User: existing, AMR: amr, outcome: OutcomeLinked}, nil
	}
	ticket := authority.RandomToken(32)
	err = s.cfg.Store.PutPending(ctx, Pending{Hash: authority.HashToken(ticket), Kind: KindLink, UpstreamID: u.ID,
		BrowserHash: authority.HashToken(browser), Authz: authz, Subject: c.Subject, Email: email,
		EmailVerified: c.EmailVerified, UserID: existing.ID, ExpiresAt: s.cfg.Now().Add(PendingTTL)})
	if err != nil {
		return Result{}, err
	}
	return Result{LinkTicket: ticket, LinkEmail: existing.Email}, nil
}

func (s *Service) link(ctx context.Context, idn Identity, meta authority.Meta, how string) error {
	if err := s.cfg.Store.LinkIdentity(ctx, idn); err != nil {
		return err
	}
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamLinked, Actor: idn.UserID, UserID: idn.UserID, IP: meta.IP,
		Detail: "upstream " + idn.UpstreamID + " identity " + idn.Subject + " linked " + how})
	return nil
}

func (s *Service) succeeded(ctx context.Context, u Upstream, user authority.User, meta authority.Meta, how string) {
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamLogin, Actor: user.ID, UserID: user.ID, IP: meta.IP,
		Detail: "signed in through upstream " + u.ID + ": " + how})
}

func (s *Service) fail(ctx context.Context, id, userID string, meta authority.Meta, err error) {
	s.cfg.Core.Audit(ctx, authority.Event{Type: authority.EventUpstreamFailure, UserID: userID, IP: meta.IP,
		Detail: fmt.Sprintf("upstream %.63s: %.300v", id, err)})
}
