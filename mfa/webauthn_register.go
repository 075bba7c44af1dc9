package mfa

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/sigil-auth/sigil/authority"
)

// Registering, listing, renaming and removing passkeys and security keys.

// BeginWebAuthnRegistration starts registering a passkey or security key
// for the user after checking the user's password: it returns the
// ceremony id and the options for navigator.credentials.create.
// Credentials the user already has are excluded; a discoverable
// credential is preferred (so that it can sign in without a password) but
// not required. The password keeps whoever holds a session or an access
// token alone from adding a passkey, which signs in by itself and counts
// as two factors.
func (s *Service) BeginWebAuthnRegistration(ctx context.Context, userID string, re authority.Reauth, meta authority.Meta) (string, *protocol.CredentialCreation, error) {
	if _, err := s.relyingParty(); err != nil {
		return "", nil, err
	}
	if _, err := s.checkFactorPassword(ctx, userID, re, "add a passkey", meta); err != nil {
		return "", nil, err
	}
	return s.beginWebAuthnRegistration(ctx, userID)
}

// BeginWebAuthnRegistrationForSignIn is BeginWebAuthnRegistration for the
// user of an enrolment token (from an EnrollmentRequiredError), whose
// password was checked when the token was made.
func (s *Service) BeginWebAuthnRegistrationForSignIn(ctx context.Context, enrollToken string) (string, *protocol.CredentialCreation, error) {
	t, err := s.liveMFAToken(ctx, enrollToken, PurposeEnroll)
	if err != nil {
		return "", nil, err
	}
	return s.beginWebAuthnRegistration(ctx, t.UserID)
}

func (s *Service) beginWebAuthnRegistration(ctx context.Context, userID string) (string, *protocol.CredentialCreation, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return "", nil, err
	}
	user, _, err := s.loadWAUser(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	creation, sd, err := wa.BeginRegistration(user,
		webauthn.WithExclusions(webauthn.Credentials(user.creds).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return "", nil, fmt.Errorf("begin WebAuthn registration: %w", err)
	}
	id, err := s.saveCeremony(ctx, userID, ceremonyRegister, sd)
	if err != nil {
		return "", nil, err
	}
	return id, creation, nil
}

// FinishWebAuthnRegistration checks the authenticator's answer (the JSON
// of the PublicKeyCredential navigator.credentials.create returned) to the
// user's ceremony and stores the credential under name.
func (s *Service) FinishWebAuthnRegistration(ctx context.Context, userID, ceremonyID, name string, response []byte, meta authority.Meta) (WebAuthnCredential, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return WebAuthnCredential{}, err
	}
	name, err = credentialName(name, s.core.Now())
	if err != nil {
		return WebAuthnCredential{}, err
	}
	sd, owner, err := s.takeCeremony(ctx, ceremonyID, ceremonyRegister)
	if err != nil {
		return WebAuthnCredential{}, err
	}
	if owner != userID {
		return WebAuthnCredential{}, ErrInvalidCeremony
	}
	user, _, err := s.loadWAUser(ctx, userID)
	if err != nil {
		return WebAuthnCredential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return WebAuthnCredential{}, s.webauthnFailed(ctx, nil, userID, meta, "registration answer does not parse", err)
	}
	cred, err := wa.CreateCredential(user, sd, parsed)
	if err != nil {
		return WebAuthnCredential{}, s.webauthnFailed(ctx, nil, userID, meta, "registration answer rejected", err)
	}
	c := WebAuthnCredential{ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: userID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, AttestationFormat: cred.AttestationFormat, Flags: cred.Flags.MsgpByte(),
		Name: name, CreatedAt: s.core.Now().UTC()}
	if g, err := uuid.FromBytes(cred.Authenticator.AAGUID); err == nil && g != uuid.Nil {
		c.AAGUID = g.String()
	}
	for _, t := range cred.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	if err := s.store.CreateWebAuthnCredential(ctx, c); err != nil {
		return WebAuthnCredential{}, err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFAWebAuthnRegister, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP,
		Detail: "passkey or security key registered: " + c.ID})
	s.notifyFactor(ctx, userID, MailFactorAdded, factorPasskey("a", c.Name))
	return c, nil
}

func credentialName(name string, now time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey added " + now.UTC().Format("2006-01-02"), nil
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxCredentialNameLen || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", invalid("name", fmt.Sprintf("must be at most %d printable characters", maxCredentialNameLen))
	}
	return name, nil
}

// WebAuthnCredentials lists the user's passkeys and security keys.
func (s *Service) WebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error) {
	return s.store.WebAuthnCredentials(ctx, userID)
}

// RenameWebAuthnCredential renames one of the user's credentials.
func (s *Service) RenameWebAuthnCredential(ctx context.Context, userID, id, name string, meta authority.Meta) (WebAuthnCredential, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return WebAuthnCredential{}, invalid("name", "is required")
	}
	name, err := credentialName(name, s.core.Now())
	if err != nil {
		return WebAuthnCredential{}, err
	}
	if err := s.store.RenameWebAuthnCredential(ctx, userID, id, name); err != nil {
		return WebAuthnCredential{}, err
	}
	c, err := s.store.WebAuthnCredentialByID(ctx, id)
	if err != nil {
		return WebAuthnCredential{}, err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFAWebAuthnRename, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: "credential " + id})
	return c, nil
}

// RemoveWebAuthnCredential removes one of the user's credentials after
// checking the user's password, as removing an authenticator app needs a
// current code: a second factor must not be taken off an account by
// whoever holds one of its sessions or access tokens alone.
func (s *Service) RemoveWebAuthnCredential(ctx context.Context, userID, id string, re authority.Reauth, meta authority.Meta) error {
	if _, err := s.checkFactorPassword(ctx, userID, re, "remove credential "+id, meta); err != nil {
		return err
	}
	// Read first, for the notice's name.
	c, err := s.store.WebAuthnCredentialByID(ctx, id)
	if err == nil && c.UserID != userID {
		err = authority.ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebAuthnCredential(ctx, userID, id); err != nil {
		return err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFAWebAuthnRemove, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: "credential " + id})
	s.notifyFactor(ctx, userID, MailFactorRemoved, factorPasskey("the", c.Name))
	return nil
}
