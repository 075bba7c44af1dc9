package mfa

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sigil-auth/sigil/authority"
)

// Signing in with a passkey (alone) or a security key (after the
// password).

// BeginWebAuthnLogin starts a WebAuthn sign-in. With an mfaToken (from an
// mfa-required answer) it is the second factor of that user, and the
// options list the user's credentials; without one it is a passkey
// sign-in with a discoverable credential and user verification required,
// and the answer names the user.
func (s *Service) BeginWebAuthnLogin(ctx context.Context, mfaToken string) (string, *protocol.CredentialAssertion, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return "", nil, err
	}
	if mfaToken == "" {
		assertion, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return "", nil, fmt.Errorf("begin passkey sign-in: %w", err)
		}
		id, err := s.saveCeremony(ctx, "", ceremonyPasskey, sd)
		return id, assertion, err
	}
	t, err := s.liveMFAToken(ctx, mfaToken, PurposeLogin)
	if err != nil {
		return "", nil, err
	}
	user, _, err := s.loadWAUser(ctx, t.UserID)
	if err != nil {
		return "", nil, err
	}
	if len(user.creds) == 0 {
		return "", nil, ErrNoWebAuthn
	}
	assertion, sd, err := wa.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return "", nil, fmt.Errorf("begin WebAuthn sign-in: %w", err)
	}
	id, err := s.saveCeremony(ctx, t.UserID, ceremonyLogin, sd)
	return id, assertion, err
}

// finishWebAuthnLogin checks the answer to a sign-in ceremony and returns
// the user and the amr of the whole sign-in: after a password
// ["pwd","hwk","mfa"]; a passkey alone, user verified, ["hwk","user","mfa"].
func (s *Service) finishWebAuthnLogin(ctx context.Context, mfaToken, ceremonyID string, response []byte, meta authority.Meta) (authority.User, []string, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return authority.User{}, nil, err
	}
	if mfaToken == "" {
		return s.finishPasskey(ctx, wa, ceremonyID, response, meta)
	}
	t, err := s.liveMFAToken(ctx, mfaToken, PurposeLogin)
	if err != nil {
		return authority.User{}, nil, err
	}
	sd, owner, err := s.takeCeremony(ctx, ceremonyID, ceremonyLogin)
	if err != nil {
		return authority.User{}, nil, err
	}
	if owner != t.UserID {
		return authority.User{}, nil, ErrInvalidCeremony
	}
	a, err := s.core.ReserveAttempt(ctx, mfaThrottleKey(t.UserID), meta)
	if err != nil {
		return authority.User{}, nil, err
	}
	defer s.core.AbandonAttempt(ctx, a)
	user, stored, err := s.loadWAUser(ctx, t.UserID)
	if err != nil {
		return authority.User{}, nil, err
	}
	fail := func(detail string, cause error) error {
		err := s.webauthnFailed(ctx, a, t.UserID, meta, detail, cause)
		if _, ferr := s.store.FailMFAToken(ctx, t.Hash); ferr != nil {
			return ferr
		}
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return authority.User{}, nil, fail("sign-in answer does not parse", err)
	}
	cred, err := wa.ValidateLogin(user, sd, parsed)
	if err != nil {
		return authority.User{}, nil, fail("sign-in answer rejected", err)
	}
	if err := s.recordAssertion(ctx, t.UserID, stored, cred, meta); err != nil {
		return authority.User{}, nil, err
	}
	if err := s.store.SpendMFAToken(ctx, t.Hash, TokenMaxFailures, s.core.Now().UTC()); err != nil {
		if errors.Is(err, authority.ErrConflict) {
			return authority.User{}, nil, ErrInvalidToken
		}
		return authority.User{}, nil, err
	}
	s.codeSucceeded(ctx, a, t.UserID)
	if err := s.core.LoginAllowed(ctx, user.u, meta); err != nil {
		return authority.User{}, nil, err
	}
	amr := append(slices.Clone(t.AMR), "hwk", "mfa")
	return user.u, amr, nil
}

func (s *Service) finishPasskey(ctx context.Context, wa *webauthn.WebAuthn, ceremonyID string, response []byte, meta authority.Meta) (authority.User, []string, error) {
	sd, _, err := s.takeCeremony(ctx, ceremonyID, ceremonyPasskey)
	if err != nil {
		return authority.User{}, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return authority.User{}, nil, s.webauthnFailed(ctx, nil, "", meta, "passkey answer does not parse", err)
	}
	// The answer names the user; their second-factor throttle is
	// reserved as soon as it is known, before the signature is checked.
	var (
		stored  []WebAuthnCredential
		user    waUser
		a       *authority.Attempt
		refusal error
	)
	defer func() { s.core.AbandonAttempt(ctx, a) }()
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, st, err := s.loadWAUser(ctx, string(userHandle))
		if err != nil {
			refusal = err
			return nil, err
		}
		if a, err = s.core.ReserveAttempt(ctx, mfaThrottleKey(u.u.ID), meta); err != nil {
			refusal = err
			return nil, err
		}
		user, stored = u, st
		return u, nil
	}
	_, cred, err := wa.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil {
		if refusal != nil && !errors.Is(refusal, authority.ErrNotFound) {
			return authority.User{}, nil, refusal // throttled, or the database failed
		}
		return authority.User{}, nil, s.webauthnFailed(ctx, a, user.u.ID, meta, "passkey sign-in answer rejected", err)
	}
	if err := s.recordAssertion(ctx, user.u.ID, stored, cred, meta); err != nil {
		return authority.User{}, nil, err
	}
	s.codeSucceeded(ctx, a, user.u.ID)
	if err := s.core.LoginAllowed(ctx, user.u, meta); err != nil {
		return authority.User{}, nil, err
	}
	return user.u, []string{"hwk", "user", "mfa"}, nil
}

// recordAssertion checks the signature counter of a verified assertion
// and stores it: a counter that did not advance (other than an
// authenticator that always sends 0) is a cloned authenticator, refused
// and audited.
func (s *Service) recordAssertion(ctx context.Context, userID string, stored []WebAuthnCredential, cred *webauthn.Credential, meta authority.Meta) error {
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	i := slices.IndexFunc(stored, func(c WebAuthnCredential) bool { return c.ID == id })
	if i < 0 {
		return ErrWebAuthnRejected
	}
	if cred.Authenticator.CloneWarning {
		s.core.Audit(ctx, authority.Event{Type: authority.EventMFAWebAuthnClone, Actor: userID, UserID: userID, IP: meta.IP,
			Detail: fmt.Sprintf("credential %s: signature counter %d after %d; refused as a possibly cloned authenticator", id, cred.Authenticator.SignCount, stored[i].SignCount)})
		return ErrClonedAuthenticator
	}
	err := s.store.UseWebAuthnCredential(ctx, id, stored[i].SignCount, cred.Authenticator.SignCount, cred.Flags.MsgpByte(), s.core.Now().UTC())
	if errors.Is(err, authority.ErrConflict) {
		// Another instance accepted an assertion of this credential in
		// between: the same counter twice.
		s.core.Audit(ctx, authority.Event{Type: authority.EventMFAWebAuthnClone, Actor: userID, UserID: userID, IP: meta.IP,
			Detail: "credential " + id + ": signature counter already used; refused"})
		return ErrClonedAuthenticator
	}
	return err
}

// webauthnFailed audits a rejected answer and, when a throttle attempt
// was reserved for the user (a sign-in), settles it as a failure.
func (s *Service) webauthnFailed(ctx context.Context, a *authority.Attempt, userID string, meta authority.Meta, detail string, cause error) error {
	var pe *protocol.Error
	if errors.As(cause, &pe) && pe.Details != "" {
		detail += ": " + pe.Details
	}
	if a != nil && userID != "" {
		if err := s.codeFailed(ctx, a, userID, meta, detail); !errors.Is(err, ErrInvalidCode) {
			return err
		}
		return ErrWebAuthnRejected
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFAFailure, Actor: meta.ActorOr(userID), UserID: userID, IP: meta.IP, Detail: detail})
	return ErrWebAuthnRejected
}

// WebAuthnLogin finishes a REST sign-in with a passkey or security key
// (with the mfaToken of an mfa-required answer, or none for a passkey
// alone) and returns the tokens.
func (s *Service) WebAuthnLogin(ctx context.Context, mfaToken, ceremonyID string, response []byte, meta authority.Meta) (authority.TokenPair, error) {
	u, amr, err := s.finishWebAuthnLogin(ctx, mfaToken, ceremonyID, response, meta)
	if err != nil {
		return authority.TokenPair{}, err
	}
	return s.core.FinishLogin(ctx, u, amr, meta, "WebAuthn: "+strings.Join(amr, " "))
}

// WebAuthnSignIn finishes a hosted-page sign-in with a passkey or
// security key: the user and how they authenticated, for the caller to
// open the browser session with.
func (s *Service) WebAuthnSignIn(ctx context.Context, mfaToken, ceremonyID string, response []byte, meta authority.Meta) (authority.User, []string, error) {
	u, amr, err := s.finishWebAuthnLogin(ctx, mfaToken, ceremonyID, response, meta)
	if err != nil {
		return authority.User{}, nil, err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFASuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "WebAuthn on the hosted page: " + strings.Join(amr, " ")})
	return u, amr, nil
}
