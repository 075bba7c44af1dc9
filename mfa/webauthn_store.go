package mfa

import (
	"context"
	"time"
)

// WebAuthnCredential is a registered passkey or security key as stored:
// its public key only, never anything secret.
type WebAuthnCredential struct {
	// ID is the credential id, base64url without padding.
	ID     string
	UserID string
	// PublicKey is the COSE public key.
	PublicKey []byte
	SignCount uint32
	// AAGUID names the authenticator model (a UUID), empty when the
	// authenticator sent none.
	AAGUID            string
	Transports        []string
	AttestationFormat string
	// Flags are the credential flags (user present, verified, backup
	// eligible, backup state) in go-webauthn's one-byte encoding.
	Flags      byte
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// WebAuthnCeremony is a registration or sign-in in progress: the
// challenge and what the answer must match, kept server side. Only the
// SHA-256 of the id handed to the client is stored.
type WebAuthnCeremony struct {
	Hash string
	// UserID is the user the ceremony is for; empty for a sign-in with a
	// discoverable credential, where the answer names the user.
	UserID  string
	Purpose string
	// SessionData is go-webauthn's SessionData as JSON.
	SessionData []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// WebAuthnStore keeps WebAuthn credentials and ceremonies.
type WebAuthnStore interface {
	// CreateWebAuthnCredential stores a new credential; authority.ErrConflict when
	// its id is already registered.
	CreateWebAuthnCredential(ctx context.Context, c WebAuthnCredential) error
	// WebAuthnCredentials lists the user's credentials, oldest first.
	WebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	// WebAuthnCredentialByID returns authority.ErrNotFound for no such credential.
	WebAuthnCredentialByID(ctx context.Context, id string) (WebAuthnCredential, error)
	// UseWebAuthnCredential records a verified assertion: the counter
	// moves from oldCount to newCount (compare-and-swap, so two
	// instances cannot both accept the same counter) and the flags are
	// updated; authority.ErrConflict when the stored counter is no longer oldCount.
	UseWebAuthnCredential(ctx context.Context, id string, oldCount, newCount uint32, flags byte, at time.Time) error
	// RenameWebAuthnCredential renames the user's credential; authority.ErrNotFound
	// when the user has no such credential.
	RenameWebAuthnCredential(ctx context.Context, userID, id, name string) error
	// DeleteWebAuthnCredential removes the user's credential; authority.ErrNotFound
	// when the user has no such credential.
	DeleteWebAuthnCredential(ctx context.Context, userID, id string) error

	// CreateWebAuthnCeremony stores a ceremony and drops expired ones.
	CreateWebAuthnCeremony(ctx context.Context, c WebAuthnCeremony) error
	// TakeWebAuthnCeremony deletes the ceremony and returns it, so that
	// it is used once; authority.ErrNotFound for none.
	TakeWebAuthnCeremony(ctx context.Context, hash string) (WebAuthnCeremony, error)
}
