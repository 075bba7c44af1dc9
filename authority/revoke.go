package authority

import (
	"context"
	"errors"
	"strings"
)

// looksLikeJWT tells a compact JWS (three dot-separated parts) from an
// opaque refresh token, which has no dots.
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

// Revoke revokes a token for the client clientID (RFC 7009): a refresh
// token's whole family, or an access token's jti, which goes on the deny
// list until the token expires. Tokens that are unknown, already invalid or
// issued to another client are left alone without an error, so the answer
// reveals nothing about them. The two kinds cannot be mistaken for each
// other (a JWS has two dots, a refresh token none), so RFC 7009's
// token_type_hint is not needed.
func (s *Service) Revoke(ctx context.Context, clientID, token string, meta Meta) error {
	if token == "" || len(token) > 16<<10 {
		return nil
	}
	if looksLikeJWT(token) {
		return s.revokeAccess(ctx, clientID, token, meta)
	}
	if len(token) > 512 {
		return nil
	}
	rt, err := s.refreshByToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rt.ClientID != clientID {
		return nil
	}
	return s.revokeFamily(ctx, rt, EventTokenRevoke, Meta{IP: meta.IP, Actor: clientID})
}

func (s *Service) revokeAccess(ctx context.Context, clientID, token string, meta Meta) error {
	c, err := s.verify(ctx, token, "")
	if errors.Is(err, ErrInvalidToken) {
		return nil // expired, forged or already revoked: nothing to do
	}
	if err != nil {
		return err
	}
	if c.ClientID != clientID {
		return nil
	}
	// Verify accepts a token until exp plus the leeway; keep it denied
	// that long.
	until := c.ExpiresAt().Add(Leeway)
	if err := s.store.DenyAccessToken(ctx, c.ID, until, s.now().UTC()); err != nil {
		return err
	}
	s.deny.add(c.ID, until)
	s.audit(ctx, Event{Type: EventTokenRevoke, Actor: clientID, UserID: userOf(c), IP: meta.IP, Detail: "access token " + c.ID + " revoked"})
	return nil
}

// userOf returns the user a token was issued to, "" for a client's token.
func userOf(c *Claims) string {
	if c.Email == "" {
		return ""
	}
	return c.Subject
}

// Introspection is the RFC 7662 answer about a token. Inactive tokens have
// only Active false.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       Audience `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// Introspect describes token (RFC 7662) to the client caller: an access
// token that Verify would accept, or a live refresh token, when it is
// meant for the caller (its audience includes the caller's audience) or
// was issued to the caller (its client_id is the caller's). Anything
// else, including another service's valid token, is inactive: a client
// learns nothing about tokens that are none of its business.
func (s *Service) Introspect(ctx context.Context, caller Client, token string) (Introspection, error) {
	in, err := s.introspect(ctx, token)
	if err != nil || !in.Active {
		return Introspection{}, err
	}
	if in.ClientID != caller.ID && (caller.Audience == "" || !in.Aud.Contains(caller.Audience)) {
		return Introspection{}, nil
	}
	return in, nil
}

func (s *Service) introspect(ctx context.Context, token string) (Introspection, error) {
	if token == "" || len(token) > 16<<10 {
		return Introspection{}, nil
	}
	if looksLikeJWT(token) {
		c, err := s.verify(ctx, token, "")
		if errors.Is(err, ErrInvalidToken) {
			return Introspection{}, nil
		}
		if err != nil {
			return Introspection{}, err
		}
		return Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, Username: c.Email, TokenType: "Bearer",
			Exp: c.Expiry, Iat: c.IssuedAt, Nbf: c.NotBefore, Sub: c.Subject, Aud: c.Audience, Iss: c.Issuer, JTI: c.ID}, nil
	}
	if len(token) > 512 {
		return Introspection{}, nil
	}
	rt, err := s.refreshByToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	now := s.now()
	if !rt.SpentAt.IsZero() || !rt.RevokedAt.IsZero() || !now.Before(rt.ExpiresAt) {
		return Introspection{}, nil
	}
	u, err := s.store.UserByID(ctx, rt.UserID)
	if errors.Is(err, ErrNotFound) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	aud, _, _, err := s.audienceFor(ctx, rt.ClientID)
	if errors.Is(err, ErrInvalidGrant) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	return Introspection{Active: true, Scope: rt.Scope, ClientID: rt.ClientID, Username: u.Email, TokenType: "refresh_token",
		Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Nbf: rt.CreatedAt.Unix(), Sub: rt.UserID, Aud: aud, Iss: s.cfg.Issuer}, nil
}
