package authority

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Refresh rotates a refresh token: it spends token and returns a new access
// token and a new refresh token of the same family, for the user's current
// email and roles. clientID is the client presenting the token; a token
// issued to another client is ErrInvalidGrant. scope, when not empty, must
// be a subset of the token's scope and narrows the new access token only.
// resource, when not empty, must be the resource indicator the family was
// granted for (RFC 8707: a refresh may not widen the grant), else
// ErrInvalidTarget; the access token's audience is the family's resource
// when it has one.
//
// A spent token presented again is a retry when it comes within
// Config.RefreshReuseGrace of the spend and no retry has been granted yet:
// it succeeds once more and the successor it replaces is revoked, so the
// family keeps exactly one live token. Otherwise reuse is taken for theft:
// the whole family is revoked, an audit event is written, and the answer is
// ErrRefreshReuse.
func (s *Service) Refresh(ctx context.Context, token, clientID, scope, resource string, meta Meta) (TokenPair, error) {
	if token == "" || len(token) > 512 {
		return TokenPair{}, fmt.Errorf("%w: malformed refresh token", ErrInvalidGrant)
	}
	rt, err := s.refreshByToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return TokenPair{}, fmt.Errorf("%w: unknown refresh token", ErrInvalidGrant)
	}
	if err != nil {
		return TokenPair{}, err
	}
	hash := rt.Hash
	if rt.ClientID != clientID {
		return TokenPair{}, fmt.Errorf("%w: refresh token issued to another client", ErrInvalidGrant)
	}
	accessScope, err := narrowScope(rt.Scope, scope)
	if err != nil {
		return TokenPair{}, err
	}
	if resource != "" && resource != rt.Resource {
		return TokenPair{}, fmt.Errorf("%w: the refresh token was not granted for this resource", ErrInvalidTarget)
	}
	now := s.now().UTC()
	if !rt.RevokedAt.IsZero() {
		return TokenPair{}, s.revokedPresented(ctx, rt, now, meta)
	}
	switch {
	case !now.Before(rt.ExpiresAt):
		return TokenPair{}, fmt.Errorf("%w: refresh token expired", ErrInvalidGrant)
	}
	u, err := s.store.UserByID(ctx, rt.UserID)
	if errors.Is(err, ErrNotFound) {
		return TokenPair{}, fmt.Errorf("%w: the user no longer exists", ErrInvalidGrant)
	}
	if err != nil {
		return TokenPair{}, err
	}
	aud, ttl, firstParty, err := s.audienceFor(ctx, rt.ClientID)
	if err != nil {
		return TokenPair{}, err
	}
	if rt.Resource != "" {
		// A resource deregistered since the grant gets no more tokens.
		if err := s.CheckResource(ctx, rt.Resource); err != nil {
			return TokenPair{}, err
		}
		aud = Audience{rt.Resource}
	}

	if u.Locked {
		return TokenPair{}, fmt.Errorf("%w: the account is locked", ErrInvalidGrant)
	}
	// A role that needs a second factor may have been granted after a
	// sign-in without one: the family cannot carry it.
	if !s.MFASatisfied(u, rt.AMR) {
		return TokenPair{}, ErrMFARequiredForRole
	}
	refresh, next := s.NewRefreshToken(rt.FamilyID, rt.UserID, rt.ClientID, rt.Scope)
	next.UserAgent, next.IP = rt.UserAgent, rt.IP
	// The family's lifetime is absolute: successors expire when the token
	// issued at login does.
	next.CreatedAt, next.ExpiresAt, next.SessionID, next.AMR, next.Resource = now, rt.ExpiresAt, rt.SessionID, rt.AMR, rt.Resource
	retried := false
	if rt.SpentAt.IsZero() {
		err = s.store.SpendRefreshToken(ctx, hash, next)
		if errors.Is(err, ErrConflict) {
			// Another request spent it first; judge this one as a reuse
			// of the token as it is now.
			rt, err = s.store.RefreshTokenByHash(ctx, hash)
			if err == nil {
				err = s.retry(ctx, rt, now, next)
				retried = true
			}
		}
	} else {
		err = s.retry(ctx, rt, now, next)
		retried = true
	}
	if errors.Is(err, ErrConflict) {
		return TokenPair{}, s.reused(ctx, rt, now, meta)
	}
	if err != nil {
		return TokenPair{}, err
	}
	if retried {
		s.audit(ctx, Event{Type: EventRefreshRetry, Actor: u.ID, UserID: u.ID, IP: meta.IP,
			Detail: "spent refresh token retried within the grace interval; family " + rt.FamilyID})
	}

	accessScope = GrantedScope(accessScope, u)
	c := s.NewAccessClaims(u.ID, rt.ClientID, accessScope, aud, ttl)
	// The access token says how the user signed in when the family
	// started: refreshing is no new authentication, and takes none away.
	c.SessionID = rt.FamilyID
	c.AMR, c.IDP = SplitAMR(rt.AMR)
	SetUserClaims(c, u, firstParty)
	access, err := s.Sign(c, "refresh_token")
	if err != nil {
		return TokenPair{}, err
	}
	s.profiles.put(u.ID, Profile{Name: u.Name, EmailVerified: u.EmailVerified}, s.now())
	return TokenPair{AccessToken: access, ExpiresIn: int(ttl / time.Second), RefreshToken: refresh, UserID: u.ID, Scope: accessScope}, nil
}

// retry grants the one retry of a spent token inside the grace interval,
// or returns ErrConflict when this presentation is a reuse.
func (s *Service) retry(ctx context.Context, rt RefreshToken, now time.Time, next RefreshToken) error {
	grace := s.cfg.RefreshReuseGrace
	if grace <= 0 || !rt.RevokedAt.IsZero() || !rt.GraceUsedAt.IsZero() || rt.ReplacedBy == "" || now.Sub(rt.SpentAt) > grace {
		return ErrConflict
	}
	return s.store.RetryRefreshToken(ctx, rt.Hash, rt.ReplacedBy, now.Add(-grace), next)
}

// reused revokes the family of a reused token and records the theft.
func (s *Service) reused(ctx context.Context, rt RefreshToken, now time.Time, meta Meta) error {
	n, err := s.store.RevokeRefreshFamily(context.WithoutCancel(ctx), rt.FamilyID, now)
	if err != nil {
		return err
	}
	if err := s.denyFamily(ctx, rt.FamilyID); err != nil {
		return err
	}
	s.log.Warn("refresh token reuse: family revoked", "user_id", rt.UserID, "family", rt.FamilyID, "revoked", n)
	s.audit(ctx, Event{Type: EventRefreshReuse, UserID: rt.UserID, IP: meta.IP,
		Detail: fmt.Sprintf("spent refresh token presented again; family %s revoked (%d live token(s))", rt.FamilyID, n)})
	return ErrRefreshReuse
}

// revokedPresented answers the presentation of a revoked token. A token
// revoked on its own while its family lives on is the successor that a
// grace retry replaced: its answer was lost, so the client never held it,
// and whoever presents it is not the client. That is theft like reuse, and
// the family is revoked.
func (s *Service) revokedPresented(ctx context.Context, rt RefreshToken, now time.Time, meta Meta) error {
	n, err := s.store.RevokeRefreshFamily(context.WithoutCancel(ctx), rt.FamilyID, now)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: refresh token revoked", ErrInvalidGrant)
	}
	if err := s.denyFamily(ctx, rt.FamilyID); err != nil {
		return err
	}
	s.log.Warn("replaced refresh token presented: family revoked", "user_id", rt.UserID, "family", rt.FamilyID, "revoked", n)
	s.audit(ctx, Event{Type: EventRefreshReuse, UserID: rt.UserID, IP: meta.IP,
		Detail: fmt.Sprintf("refresh token replaced by a retry presented; family %s revoked (%d live token(s))", rt.FamilyID, n)})
	return ErrRefreshReuse
}

// audienceFor returns the audience and access-token lifetime of tokens
// issued to a client, and whether it is first-party: the defaults for
// the login client (Sigil's own REST sign-in, first-party).
func (s *Service) audienceFor(ctx context.Context, clientID string) (Audience, time.Duration, bool, error) {
	if clientID == s.cfg.LoginClientID {
		return Audience{s.cfg.Audience}, s.cfg.AccessTTL, true, nil
	}
	c, err := s.clientByID(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, false, fmt.Errorf("%w: the client no longer exists", ErrInvalidGrant)
	}
	if err != nil {
		return nil, 0, false, err
	}
	return s.ClientAudience(c), s.ClientTTL(c), c.FirstParty, nil
}

// Logout revokes the family of a refresh token. An unknown, spent or
// revoked token is no error: the answer reveals nothing about it.
func (s *Service) Logout(ctx context.Context, token string, meta Meta) error {
	if !PlausibleToken(token) {
		return invalid("refreshToken", "is not a refresh token")
	}
	rt, err := s.refreshByToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.revokeFamily(ctx, rt, EventRefreshLogout, meta)
}

func (s *Service) revokeFamily(ctx context.Context, rt RefreshToken, event string, meta Meta) error {
	n, err := s.store.RevokeRefreshFamily(ctx, rt.FamilyID, s.now().UTC())
	if err != nil {
		return err
	}
	if n > 0 {
		// The family's access tokens go with it.
		if err := s.denyFamily(ctx, rt.FamilyID); err != nil {
			return err
		}
		actor := meta.Actor
		if actor == "" {
			actor = rt.UserID
		}
		s.audit(ctx, Event{Type: event, Actor: actor, UserID: rt.UserID, IP: meta.IP, Detail: "refresh token family " + rt.FamilyID + " revoked"})
	}
	return nil
}

// PlausibleToken reports whether tok could be a refresh token Sigil
// issued (43 base64url characters); anything else is malformed input, told
// apart from a well-formed token that is unknown, expired or revoked.
func PlausibleToken(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
