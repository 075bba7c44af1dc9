package oidc

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

// CodeTTL is how long an authorization code may be redeemed.
const CodeTTL = 60 * time.Second

// IssueCode creates an authorization code for req, bound to the client,
// redirect URI, PKCE challenge, nonce, scope, resource and browser session. The code
// (256 random bits) is returned this once; only its hash is stored.
func (s *Service) IssueCode(ctx context.Context, req AuthorizeRequest, sess BrowserSession) (string, error) {
	code := authority.RandomToken(32)
	now := s.now().UTC()
	ac := AuthCode{
		Hash: authority.HashToken(code), ClientID: req.ClientID, UserID: sess.UserID, SessionID: sess.ID,
		RedirectURI: req.RedirectURI, Scope: req.Scope(), Nonce: req.Nonce, CodeChallenge: req.CodeChallenge,
		AuthTime: sess.AuthTime, AMR: sess.AMR, CreatedAt: now, ExpiresAt: now.Add(CodeTTL), Resource: req.Resource,
	}
	if err := s.store.CreateAuthCode(ctx, ac); err != nil {
		return "", err
	}
	return code, nil
}

// CodeTokens is what redeeming an authorization code gives.
type CodeTokens struct {
	AccessToken string
	ExpiresIn   int
	Scope       string
	// IDToken is set when the scope has openid.
	IDToken string
	// RefreshToken is set when the scope has offline_access and the
	// client has the refresh_token grant.
	RefreshToken string
}

// ExchangeCode redeems an authorization code for client c (already
// authenticated, or public). The code must be unused, unexpired, issued
// to c for redirectURI, and verifier must match its PKCE challenge. A
// code presented a second time is refused, and the tokens its first
// redemption issued are revoked (RFC 6749 §4.1.2). resource, when not
// empty, must be the resource indicator of the authorization request
// (ErrInvalidTarget otherwise: the token endpoint may not widen what the
// user authorized); the access token's audience is that resource when
// the request had one.
func (s *Service) ExchangeCode(ctx context.Context, c authority.Client, code, redirectURI, verifier, resource string, meta authority.Meta) (CodeTokens, error) {
	if !authority.PlausibleToken(code) {
		return CodeTokens{}, fmt.Errorf("%w: malformed authorization code", authority.ErrInvalidGrant)
	}
	if !c.HasGrant(authority.GrantAuthorizationCode) {
		return CodeTokens{}, fmt.Errorf("%w: the client may not use the authorization code grant", authority.ErrUnauthorizedClient)
	}
	now := s.now()
	ttl := s.core.ClientTTL(c)
	family, jti := authority.NewTokenID(), authority.NewTokenID()
	accessExp := now.Add(ttl)
	ac, err := s.store.RedeemAuthCode(ctx, authority.HashToken(code), now.UTC(), family, jti, accessExp)
	switch {
	case errors.Is(err, authority.ErrNotFound):
		return CodeTokens{}, fmt.Errorf("%w: unknown authorization code", authority.ErrInvalidGrant)
	case errors.Is(err, authority.ErrConflict):
		s.codeReplayed(ctx, ac, meta)
		return CodeTokens{}, fmt.Errorf("%w: the authorization code was already used; the tokens issued for it are revoked", authority.ErrInvalidGrant)
	case err != nil:
		return CodeTokens{}, err
	}
	switch {
	case ac.ClientID != c.ID:
		return CodeTokens{}, fmt.Errorf("%w: the authorization code was issued to another client", authority.ErrInvalidGrant)
	case !now.Before(ac.ExpiresAt):
		return CodeTokens{}, fmt.Errorf("%w: the authorization code has expired", authority.ErrInvalidGrant)
	case ac.RedirectURI != redirectURI:
		return CodeTokens{}, fmt.Errorf("%w: redirect_uri differs from the authorization request's", authority.ErrInvalidGrant)
	}
	if err := checkVerifier(ac.CodeChallenge, verifier); err != nil {
		return CodeTokens{}, err
	}
	if resource != "" && resource != ac.Resource {
		return CodeTokens{}, fmt.Errorf("%w: the authorization request was not for this resource", authority.ErrInvalidTarget)
	}
	aud, err := s.core.ResourceAudience(ctx, c, ac.Resource)
	if err != nil {
		return CodeTokens{}, err
	}
	// The account as it is now, read with the code.
	u := ac.User
	if u.ID != ac.UserID {
		return CodeTokens{}, fmt.Errorf("%w: the user no longer exists", authority.ErrInvalidGrant)
	}
	if err := s.checkCodeHolder(u, ac); err != nil {
		return CodeTokens{}, err
	}

	if !s.core.MFASatisfied(u, ac.AMR) {
		return CodeTokens{}, authority.ErrMFARequiredForRole
	}
	scope := authority.GrantedScope(ac.Scope, u)
	claims := &authority.Claims{
		Issuer: s.cfg.Issuer, Subject: u.ID, Audience: aud,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: accessExp.Unix(),
		ID: jti, ClientID: c.ID, Scope: scope,
		SessionID: family,
	}
	claims.AMR, claims.IDP = authority.SplitAMR(ac.AMR)
	authority.SetUserClaims(claims, u, c.FirstParty)
	access, err := s.core.Sign(claims, authority.GrantAuthorizationCode)
	if err != nil {
		return CodeTokens{}, err
	}
	out := CodeTokens{AccessToken: access, ExpiresIn: int(ttl / time.Second), Scope: scope}
	scopes, _ := authority.ParseScope(scope)
	req := AuthorizeRequest{ClientID: c.ID, Scopes: scopes, Nonce: ac.Nonce}
	if req.HasScope(ScopeOpenID) {
		sess := BrowserSession{ID: ac.SessionID, AuthTime: ac.AuthTime, AMR: ac.AMR}
		if out.IDToken, err = s.signIDToken(u, c, req, sess, access, now); err != nil {
			return CodeTokens{}, err
		}
	}
	if req.HasScope(ScopeOfflineAccess) && c.HasGrant(authority.GrantRefreshToken) {
		refresh, rt := s.core.NewRefreshToken(family, u.ID, c.ID, scope)
		rt.SessionID, rt.AMR, rt.Resource = ac.SessionID, ac.AMR, ac.Resource
		if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
			return CodeTokens{}, err
		}
		out.RefreshToken = refresh
	}
	s.core.RememberProfile(u)
	return out, nil
}

// codeReplayed revokes what the first redemption of a replayed code issued:
// its refresh-token family and its access token.
func (s *Service) codeReplayed(ctx context.Context, ac AuthCode, meta authority.Meta) {
	ctx = context.WithoutCancel(ctx)
	now := s.now().UTC()
	if ac.FamilyID != "" {
		if _, err := s.store.RevokeRefreshFamily(ctx, ac.FamilyID, now); err != nil {
			s.log.Warn("revoke the family of a replayed code", "err", err)
		}
	}
	if ac.AccessJTI != "" && ac.AccessExp.After(now) {
		if err := s.core.DenyAccessToken(ctx, ac.AccessJTI, ac.AccessExp); err != nil {
			s.log.Warn("deny the access token of a replayed code", "err", err)
		}
	}
	s.log.Warn("authorization code replayed: its tokens are revoked", "client_id", ac.ClientID, "user_id", ac.UserID)
	s.audit(ctx, authority.Event{Type: authority.EventCodeReplay, UserID: ac.UserID, IP: meta.IP,
		Detail: "authorization code of client " + ac.ClientID + " presented again; its tokens are revoked"})
}

// checkVerifier checks a PKCE code_verifier against the code's S256
// challenge (RFC 7636 §4.6). A verifier sent for a code issued without a
// challenge is refused too: it shows the request was tampered with.
func checkVerifier(challenge, verifier string) error {
	if challenge == "" {
		if verifier != "" {
			return fmt.Errorf("%w: code_verifier sent for a code issued without code_challenge", authority.ErrInvalidGrant)
		}
		return nil
	}
	if !validVerifier(verifier) {
		return fmt.Errorf("%w: code_verifier is missing or malformed (43 to 128 unreserved characters)", authority.ErrInvalidGrant)
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return fmt.Errorf("%w: code_verifier does not match code_challenge", authority.ErrInvalidGrant)
	}
	return nil
}

func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// checkCodeHolder re-checks, at code exchange, what the code was issued
// for: a code issued before its user was locked, or before its browser
// session ended (signed out, sign out everywhere, a password change or
// reset elsewhere), issues nothing. The session's state is ac.Session,
// read with the code.
func (s *Service) checkCodeHolder(u authority.User, ac AuthCode) error {
	if u.Locked {
		return fmt.Errorf("%w: the account is locked", authority.ErrInvalidGrant)
	}
	sess := ac.Session
	if sess.ID == "" || sess.ID != ac.SessionID || !sess.RevokedAt.IsZero() || !s.now().Before(sess.ExpiresAt) || sess.UserID != u.ID {
		return fmt.Errorf("%w: the browser session the code was issued in has ended", authority.ErrInvalidGrant)
	}
	return nil
}
