package mfa

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/sigil-auth/sigil/authority"
)

// Passkeys and security keys (WebAuthn Level 2). The relying-party ID is
// the host of the issuer unless Config.WebAuthnRPID names another; the
// origins accepted are the issuer's origin unless Config.WebAuthnOrigins
// lists others. Ceremonies keep their challenge server side (the
// webauthn_ceremonies table), live five minutes and are used once.

// WebAuthnCeremonyTTL is how long a registration or sign-in ceremony may
// take between its begin and its finish.
const WebAuthnCeremonyTTL = 5 * time.Minute

// MethodWebAuthn names passkeys and security keys in an mfa-required
// answer.
const MethodWebAuthn = "webauthn"

// Purposes of a WebAuthn ceremony.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"   // second factor after the password
	ceremonyPasskey  = "passkey" // first factor, discoverable credential
)

// maxCredentialNameLen bounds a credential's name, in characters.
const maxCredentialNameLen = 64

// Errors of WebAuthn.
var (
	// ErrWebAuthnUnavailable means the relying party could not be set up
	// from the issuer and settings.
	ErrWebAuthnUnavailable = errors.New("WebAuthn is not configured")
	// ErrInvalidCeremony is an unknown, expired, already finished or
	// mismatched ceremony id.
	ErrInvalidCeremony = errors.New("invalid WebAuthn ceremony")
	// ErrWebAuthnRejected is an answer of the authenticator that does not
	// verify (wrong challenge, origin, signature, unknown credential, no
	// user verification where required).
	ErrWebAuthnRejected = errors.New("the authenticator's answer was rejected")
	// ErrClonedAuthenticator is an assertion whose signature counter did
	// not advance: the credential's private key is in two authenticators.
	ErrClonedAuthenticator = errors.New("the authenticator's signature counter went back: possibly cloned")
	// ErrNoWebAuthn means the user has no credential to sign in with.
	ErrNoWebAuthn = errors.New("no WebAuthn credential")
)

// WebAuthnRPID returns the relying-party ID in force ("" when WebAuthn is
// unavailable).
func (s *Service) WebAuthnRPID() string {
	if s.wa == nil {
		return ""
	}
	return s.wa.Config.RPID
}

func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if s.wa == nil {
		return nil, ErrWebAuthnUnavailable
	}
	return s.wa, nil
}

// waUser is a user as go-webauthn sees it: the user handle is the user id
// (random, no personal data).
type waUser struct {
	u     authority.User
	creds []webauthn.Credential
}

func (w waUser) WebAuthnID() []byte   { return []byte(w.u.ID) }
func (w waUser) WebAuthnName() string { return w.u.Email }
func (w waUser) WebAuthnDisplayName() string {
	if w.u.Name != "" {
		return w.u.Name
	}
	return w.u.Email
}
func (w waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func toLibCredential(c WebAuthnCredential) webauthn.Credential {
	id, _ := base64.RawURLEncoding.DecodeString(c.ID)
	var aaguid []byte
	if g, err := uuid.Parse(c.AAGUID); err == nil {
		aaguid = g[:]
	}
	var tr []protocol.AuthenticatorTransport
	for _, t := range c.Transports {
		tr = append(tr, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{ID: id, PublicKey: c.PublicKey, AttestationFormat: c.AttestationFormat, Transport: tr,
		Flags: webauthn.CredentialFlagsFromMsgpByte(c.Flags), Authenticator: webauthn.Authenticator{AAGUID: aaguid, SignCount: c.SignCount}}
}

func (s *Service) loadWAUser(ctx context.Context, userID string) (waUser, []WebAuthnCredential, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return waUser{}, nil, err
	}
	stored, err := s.store.WebAuthnCredentials(ctx, userID)
	if err != nil {
		return waUser{}, nil, err
	}
	w := waUser{u: u}
	for _, c := range stored {
		w.creds = append(w.creds, toLibCredential(c))
	}
	return w, stored, nil
}

// saveCeremony keeps the session data of a ceremony and returns the id
// the client sends back with its answer.
func (s *Service) saveCeremony(ctx context.Context, userID, purpose string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	id := authority.RandomToken(32)
	now := s.core.Now().UTC()
	err = s.store.CreateWebAuthnCeremony(ctx, WebAuthnCeremony{Hash: authority.HashToken(id), UserID: userID, Purpose: purpose,
		SessionData: data, CreatedAt: now, ExpiresAt: now.Add(WebAuthnCeremonyTTL)})
	if err != nil {
		return "", err
	}
	return id, nil
}

// takeCeremony spends the ceremony id of purpose and returns its session
// data and user.
func (s *Service) takeCeremony(ctx context.Context, id, purpose string) (webauthn.SessionData, string, error) {
	if id == "" || len(id) > 256 {
		return webauthn.SessionData{}, "", ErrInvalidCeremony
	}
	c, err := s.store.TakeWebAuthnCeremony(ctx, authority.HashToken(id))
	if errors.Is(err, authority.ErrNotFound) {
		return webauthn.SessionData{}, "", ErrInvalidCeremony
	}
	if err != nil {
		return webauthn.SessionData{}, "", err
	}
	if c.Purpose != purpose || !s.core.Now().Before(c.ExpiresAt) {
		return webauthn.SessionData{}, "", ErrInvalidCeremony
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.SessionData, &sd); err != nil {
		return webauthn.SessionData{}, "", fmt.Errorf("ceremony session data: %w", err)
	}
	return sd, c.UserID, nil
}
