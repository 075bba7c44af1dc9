package oidc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// RegistrationToken is an initial access token (RFC 7591 §3): an
// administrator creates it for SIGIL_REGISTRATION=token, and each client
// registration presenting it spends one use. Only its hash is kept.
type RegistrationToken struct {
	ID        string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Uses is how many registrations it was created for, UsesLeft how
	// many remain.
	Uses     int
	UsesLeft int
}

// RegistrationStore keeps initial access tokens. Package store satisfies
// it.
type RegistrationStore interface {
	CreateRegistrationToken(ctx context.Context, t RegistrationToken) error
	// RegistrationTokens lists every token, newest first.
	RegistrationTokens(ctx context.Context) ([]RegistrationToken, error)
	// DeleteRegistrationToken returns authority.ErrNotFound for none.
	DeleteRegistrationToken(ctx context.Context, id string) error
	// SpendRegistrationToken takes one use of the token with hash that
	// has uses left and has not expired at at, in one statement, so two
	// registrations never share the last use; authority.ErrNotFound
	// when there is no such token.
	SpendRegistrationToken(ctx context.Context, hash string, at time.Time) error
}

// Bounds of an initial access token.
const (
	DefaultRegistrationTokenTTL = 24 * time.Hour
	MaxRegistrationTokenTTL     = 90 * 24 * time.Hour
	MaxRegistrationTokenUses    = 1000
)

// CreateRegistrationToken creates an initial access token that expires
// after ttl (0: DefaultRegistrationTokenTTL) and allows uses
// registrations (0: one). The token is returned this once.
func (s *Service) CreateRegistrationToken(ctx context.Context, ttl time.Duration, uses int, meta authority.Meta) (RegistrationToken, string, error) {
	if ttl == 0 {
		ttl = DefaultRegistrationTokenTTL
	}
	if uses == 0 {
		uses = 1
	}
	switch {
	case ttl < time.Minute || ttl > MaxRegistrationTokenTTL:
		return RegistrationToken{}, "", &authority.ValidationError{Field: "expiresIn", Reason: "must be between one minute and 90 days"}
	case uses < 1 || uses > MaxRegistrationTokenUses:
		return RegistrationToken{}, "", &authority.ValidationError{Field: "uses", Reason: fmt.Sprintf("must be between 1 and %d", MaxRegistrationTokenUses)}
	}
	token := authority.RandomToken(32)
	now := s.now().UTC()
	t := RegistrationToken{ID: authority.NewID(), TokenHash: authority.HashToken(token), CreatedAt: now,
		ExpiresAt: now.Add(ttl).Truncate(time.Second), Uses: uses, UsesLeft: uses}
	if err := s.registrations.CreateRegistrationToken(ctx, t); err != nil {
		return RegistrationToken{}, "", err
	}
	s.audit(ctx, authority.Event{Type: authority.EventRegistrationTokenCreated, Actor: meta.Actor, IP: meta.IP,
		Detail: fmt.Sprintf("registration token %s (%d uses, expires %s)", t.ID, uses, t.ExpiresAt.Format(time.RFC3339))})
	return t, token, nil
}

// RegistrationTokens lists the initial access tokens, newest first
// (hashes only).
func (s *Service) RegistrationTokens(ctx context.Context) ([]RegistrationToken, error) {
	return s.registrations.RegistrationTokens(ctx)
}

// DeleteRegistrationToken deletes an initial access token; clients
// registered with it stay. authority.ErrNotFound for none.
func (s *Service) DeleteRegistrationToken(ctx context.Context, id string, meta authority.Meta) error {
	if !authority.PlainID(id) {
		return authority.ErrNotFound
	}
	if err := s.registrations.DeleteRegistrationToken(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, authority.Event{Type: authority.EventRegistrationTokenDeleted, Actor: meta.Actor, IP: meta.IP, Detail: "registration token " + id})
	return nil
}

// SpendRegistrationToken takes one use of an initial access token;
// ErrInvalidRegistrationToken when it is unknown, expired or used up.
func (s *Service) SpendRegistrationToken(ctx context.Context, token string) error {
	if token == "" || len(token) > 512 {
		return ErrInvalidRegistrationToken
	}
	err := s.registrations.SpendRegistrationToken(ctx, authority.HashToken(token), s.now().UTC())
	if errors.Is(err, authority.ErrNotFound) {
		return ErrInvalidRegistrationToken
	}
	return err
}
