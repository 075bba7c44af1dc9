package oidc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// PollDevice answers a poll of the token endpoint with a device code
// (grant_type urn:ietf:params:oauth:grant-type:device_code) by client c:
// ErrSlowDown when it comes sooner than the interval (which then grows),
// ErrAuthorizationPending while the user has not answered,
// ErrAccessDenied after a deny, ErrExpiredToken after expiry, and once
// approved the tokens, exactly once (a second poll is invalid_grant).
// resource, when not empty, must repeat the device authorization's.
//
// A poll writes nothing until the tokens are issued: its pace is kept in
// memory (per instance), and a poll within the interval is answered from
// memory alone. A poll on time of a code this instance has read pending
// is answered from memory too while no device authorization has been
// decided anywhere since (store.DeviceWatch), for at most
// devicePendingRecheck; otherwise it costs one read by the device
// code's unique index.
func (s *Service) PollDevice(ctx context.Context, c authority.Client, deviceCode, resource string) (CodeTokens, error) {
	if !authority.PlausibleToken(deviceCode) {
		return CodeTokens{}, fmt.Errorf("%w: malformed device code", authority.ErrInvalidGrant)
	}
	if !c.HasGrant(authority.GrantDeviceCode) {
		return CodeTokens{}, fmt.Errorf("%w: the client may not use the device authorization grant", authority.ErrUnauthorizedClient)
	}
	hash := authority.HashToken(deviceCode)
	now := s.now()
	if s.pace.tooSoon(hash, now) {
		return CodeTokens{}, ErrSlowDown
	}
	gen, following := s.store.DeviceWatch()
	if following && s.pace.stillPending(hash, c.ID, gen, now) {
		return CodeTokens{}, ErrAuthorizationPending
	}
	d, err := s.store.DeviceAuthorizationByDeviceCode(ctx, hash)
	if errors.Is(err, authority.ErrNotFound) {
		return CodeTokens{}, fmt.Errorf("%w: unknown device code", authority.ErrInvalidGrant)
	}
	if err != nil {
		return CodeTokens{}, err
	}
	switch {
	case d.ClientID != c.ID:
		return CodeTokens{}, fmt.Errorf("%w: the device code was issued to another client", authority.ErrInvalidGrant)
	case !d.UsedAt.IsZero():
		return CodeTokens{}, fmt.Errorf("%w: the device code was already used", authority.ErrInvalidGrant)
	case !now.Before(d.ExpiresAt):
		s.pace.forget(hash)
		return CodeTokens{}, ErrExpiredToken
	case d.Status == DeviceDenied:
		s.pace.forget(hash)
		return CodeTokens{}, ErrAccessDenied
	case d.Status != DeviceApproved:
		s.pace.track(hash, now, d.ExpiresAt)
		if following {
			// gen was taken before the read: a decision during it
			// changes the number, and the next poll reads again.
			s.pace.pending(hash, d.ClientID, gen, now)
		}
		return CodeTokens{}, ErrAuthorizationPending
	case resource != "" && resource != d.Resource:
		return CodeTokens{}, fmt.Errorf("%w: the device authorization was not for this resource", authority.ErrInvalidTarget)
	}
	return s.issueDeviceTokens(ctx, c, d, now)
}

// issueDeviceTokens spends an approved device authorization and issues
// its tokens: the access token (for its resource, or the client's
// audience), an ID token with openid, and a refresh token when the
// client has the refresh_token grant.
func (s *Service) issueDeviceTokens(ctx context.Context, c authority.Client, d DeviceAuthorization, now time.Time) (CodeTokens, error) {
	aud, err := s.core.ResourceAudience(ctx, c, d.Resource)
	if err != nil {
		return CodeTokens{}, err
	}
	u, err := s.store.UserByID(ctx, d.UserID)
	if errors.Is(err, authority.ErrNotFound) {
		return CodeTokens{}, fmt.Errorf("%w: the user no longer exists", authority.ErrInvalidGrant)
	}
	if err != nil {
		return CodeTokens{}, err
	}
	// The same holder checks as a code's: a lock or the end of the
	// browser session that approved it (sign out everywhere, a password
	// reset) since then issues nothing.
	sess, err := s.store.BrowserSessionByID(ctx, d.SessionID)
	if err != nil && !errors.Is(err, authority.ErrNotFound) {
		return CodeTokens{}, err
	}
	if err := s.checkCodeHolder(u, AuthCode{SessionID: d.SessionID, Session: sess}); err != nil {
		return CodeTokens{}, err
	}
	if !s.core.MFASatisfied(u, d.AMR) {
		return CodeTokens{}, authority.ErrMFARequiredForRole
	}
	if err := s.store.RedeemDeviceAuthorization(ctx, d.DeviceCodeHash, now.UTC()); errors.Is(err, authority.ErrConflict) {
		return CodeTokens{}, fmt.Errorf("%w: the device code was already used", authority.ErrInvalidGrant)
	} else if err != nil {
		return CodeTokens{}, err
	}
	s.pace.forget(d.DeviceCodeHash)
	ttl := s.core.ClientTTL(c)
	family, jti := authority.NewTokenID(), authority.NewTokenID()
	scope := authority.GrantedScope(d.Scope, u)
	claims := &authority.Claims{
		Issuer: s.cfg.Issuer, Subject: u.ID, Audience: aud,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(ttl).Unix(),
		ID: jti, ClientID: c.ID, Scope: scope, SessionID: family,
	}
	claims.AMR, claims.IDP = authority.SplitAMR(d.AMR)
	authority.SetUserClaims(claims, u, c.FirstParty)
	// The metrics label is the short name; the URN is long for a label.
	access, err := s.core.Sign(claims, "device_code")
	if err != nil {
		return CodeTokens{}, err
	}
	out := CodeTokens{AccessToken: access, ExpiresIn: int(ttl / time.Second), Scope: scope}
	req := DeviceRequest(d)
	if req.HasScope(ScopeOpenID) {
		sess := BrowserSession{ID: d.SessionID, AuthTime: d.AuthTime, AMR: d.AMR}
		if out.IDToken, err = s.signIDToken(u, c, req, sess, access, now); err != nil {
			return CodeTokens{}, err
		}
	}
	if c.HasGrant(authority.GrantRefreshToken) {
		refresh, rt := s.core.NewRefreshToken(family, u.ID, c.ID, scope)
		rt.SessionID, rt.AMR, rt.Resource = d.SessionID, d.AMR, d.Resource
		if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
			return CodeTokens{}, err
		}
		out.RefreshToken = refresh
	}
	s.core.RememberProfile(u)
	return out, nil
}

// maxPaced bounds the pace table: beyond it, expired entries are swept,
// and if none is, a new device code is not tracked until one expires
// (its first poll then costs a read; nothing is refused for it).
const maxPaced = 100_000

// pacer keeps the polling pace of device codes in memory: when the next
// poll is due and the interval now in force. It is per instance: a client
// whose polls are spread over instances is paced by each, and every poll
// of a pending code still writes nothing.
type pacer struct {
	mu sync.Mutex
	m  map[string]pace
}

type pace struct {
	last     time.Time
	interval time.Duration
	expires  time.Time
	// readPending is when a read last found the code pending (zero for
	// never), at DeviceWatch number gen, for client.
	readPending time.Time
	gen         uint64
	client      string
}

// devicePendingRecheck bounds how long a code read pending is answered
// from memory without reading it again, as a backstop: a decision
// anywhere ends it at once while decisions are followed.
const devicePendingRecheck = time.Minute

func newPacer() *pacer { return &pacer{m: map[string]pace{}} }

// start records the issue of a device code as its first "poll".
func (p *pacer) start(hash string, now, expires time.Time) { p.track(hash, now, expires) }

// track records a poll on time at now.
func (p *pacer) track(hash string, now, expires time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.m[hash]; ok {
		e.last = now
		p.m[hash] = e
		return
	}
	if len(p.m) >= maxPaced {
		for k, e := range p.m {
			if !now.Before(e.expires) {
				delete(p.m, k)
			}
		}
		if len(p.m) >= maxPaced {
			return
		}
	}
	p.m[hash] = pace{last: now, interval: DeviceInterval, expires: expires}
}

// tooSoon reports whether a poll at now comes before the interval since
// the last one; if so the interval grows by DeviceSlowDown (RFC 8628
// §3.5) and the poll counts as the last.
func (p *pacer) tooSoon(hash string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[hash]
	if !ok || !now.Before(e.last.Add(e.interval)) {
		return false
	}
	e.interval += DeviceSlowDown
	e.last = now
	p.m[hash] = e
	return true
}

// pending records that a read at now found the code pending, issued to
// client, at DeviceWatch number gen.
func (p *pacer) pending(hash, client string, gen uint64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.m[hash]; ok {
		e.readPending, e.gen, e.client = now, gen, client
		p.m[hash] = e
	}
}

// stillPending reports whether a poll on time at now by client may be
// answered authorization_pending from memory: the code was read pending
// at DeviceWatch number gen (so nothing has been decided since), less
// than devicePendingRecheck ago, for this client, and has not expired.
// If so the poll counts as the last.
func (p *pacer) stillPending(hash, client string, gen uint64, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[hash]
	if !ok || e.readPending.IsZero() || e.gen != gen || e.client != client ||
		!now.Before(e.expires) || now.Sub(e.readPending) >= devicePendingRecheck {
		return false
	}
	e.last = now
	p.m[hash] = e
	return true
}

func (p *pacer) forget(hash string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, hash)
}
