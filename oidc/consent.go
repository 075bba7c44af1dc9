package oidc

import (
	"context"
	"slices"
	"strings"

	"github.com/sigil-auth/sigil/authority"
)

// needsConsent reports whether the user must be asked before client gets
// what req asks for: never for a first-party client; for a third-party
// client when prompt=consent says so or the request asks for a scope the
// user has not granted it yet.
func (s *Service) needsConsent(ctx context.Context, userID string, c authority.Client, req AuthorizeRequest) (bool, error) {
	if c.FirstParty {
		return false, nil
	}
	if req.PromptConsent || c.Document {
		// A metadata document's client is asked every time: what the
		// document says may change, and it is no registered client.
		return true, nil
	}
	granted, err := s.store.ConsentedScopes(ctx, userID, c.ID)
	if err != nil {
		return false, err
	}
	if granted == nil {
		return true, nil
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(granted, sc) {
			return true, nil
		}
	}
	return false, nil
}

// GrantConsent remembers that the user allowed client the request's
// scopes, until they take it back.
func (s *Service) GrantConsent(ctx context.Context, userID string, c authority.Client, req AuthorizeRequest, meta authority.Meta) error {
	if !c.Document {
		if err := s.store.GrantConsent(ctx, userID, c.ID, req.Scopes, s.now().UTC()); err != nil {
			return err
		}
	}
	s.audit(ctx, authority.Event{Type: authority.EventConsentGrant, Actor: userID, UserID: userID, IP: meta.IP,
		Detail: "client " + c.ID + " allowed scopes: " + strings.Join(req.Scopes, " ")})
	return nil
}

// DenyConsent records that the user refused client's request.
func (s *Service) DenyConsent(ctx context.Context, userID string, c authority.Client, req AuthorizeRequest, meta authority.Meta) {
	s.audit(ctx, authority.Event{Type: authority.EventConsentDeny, Actor: userID, UserID: userID, IP: meta.IP,
		Detail: "client " + c.ID + " denied scopes: " + strings.Join(req.Scopes, " ")})
}

// ScopeDescription says in plain words what a scope gives a client, for
// the consent page.
func ScopeDescription(scope string) string {
	switch scope {
	case ScopeOpenID:
		return "Know who you are (your account ID)"
	case ScopeProfile:
		return "See your name"
	case authority.ScopeEmail:
		return "See your email address"
	case ScopeOfflineAccess:
		return "Stay signed in and act for you while you are away"
	case authority.ScopeRoles:
		return "See the roles you hold"
	case authority.ScopeAdmin:
		return "Administer Sigil with your administrator rights"
	}
	return "Use the \u201c" + scope + "\u201d permission"
}

// Consents lists the third-party clients the user has allowed.
func (s *Service) Consents(ctx context.Context, userID string) ([]Consent, error) {
	return s.store.Consents(ctx, userID)
}

// RevokeConsent takes back the user's consent for a client: its next
// request shows the consent page again. Tokens already issued stay valid
// until they expire or are revoked. ErrNotFound if there was none.
func (s *Service) RevokeConsent(ctx context.Context, userID, clientID string, meta authority.Meta) error {
	if !authority.PlainID(clientID) {
		return authority.ErrNotFound
	}
	if err := s.store.DeleteConsent(ctx, userID, clientID); err != nil {
		return err
	}
	s.audit(ctx, authority.Event{Type: authority.EventConsentRevoke, Actor: userID, UserID: userID, IP: meta.IP, Detail: "consent for client " + clientID + " revoked"})
	return nil
}
