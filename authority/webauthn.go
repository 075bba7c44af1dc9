package authority

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
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
	u     User
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
	id := RandomToken(32)
	now := s.now().UTC()
	err = s.store.CreateWebAuthnCeremony(ctx, WebAuthnCeremony{Hash: HashToken(id), UserID: userID, Purpose: purpose,
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
	c, err := s.store.TakeWebAuthnCeremony(ctx, HashToken(id))
	if errors.Is(err, ErrNotFound) {
		return webauthn.SessionData{}, "", ErrInvalidCeremony
	}
	if err != nil {
		return webauthn.SessionData{}, "", err
	}
	if c.Purpose != purpose || !s.now().Before(c.ExpiresAt) {
		return webauthn.SessionData{}, "", ErrInvalidCeremony
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.SessionData, &sd); err != nil {
		return webauthn.SessionData{}, "", fmt.Errorf("ceremony session data: %w", err)
	}
	return sd, c.UserID, nil
}

// BeginWebAuthnRegistration starts registering a passkey or security key
// for the user after checking the user's password: it returns the
// ceremony id and the options for navigator.credentials.create.
// Credentials the user already has are excluded; a discoverable
// credential is preferred (so that it can sign in without a password) but
// not required. The password keeps whoever holds a session or an access
// token alone from adding a passkey, which signs in by itself and counts
// as two factors.
func (s *Service) BeginWebAuthnRegistration(ctx context.Context, userID, password string, meta Meta) (string, *protocol.CredentialCreation, error) {
	if _, err := s.relyingParty(); err != nil {
		return "", nil, err
	}
	if _, err := s.checkFactorPassword(ctx, userID, password, "add a passkey", meta); err != nil {
		return "", nil, err
	}
	return s.beginWebAuthnRegistration(ctx, userID)
}

// BeginWebAuthnRegistrationForSignIn is BeginWebAuthnRegistration for the
// user of an enrolment token (from an MFAEnrollmentRequiredError), whose
// password was checked when the token was made.
func (s *Service) BeginWebAuthnRegistrationForSignIn(ctx context.Context, enrollToken string) (string, *protocol.CredentialCreation, error) {
	t, err := s.liveMFAToken(ctx, enrollToken, MFAPurposeEnroll)
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
func (s *Service) FinishWebAuthnRegistration(ctx context.Context, userID, ceremonyID, name string, response []byte, meta Meta) (WebAuthnCredential, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return WebAuthnCredential{}, err
	}
	name, err = credentialName(name, s.now())
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
		Name: name, CreatedAt: s.now().UTC()}
	if g, err := uuid.FromBytes(cred.Authenticator.AAGUID); err == nil && g != uuid.Nil {
		c.AAGUID = g.String()
	}
	for _, t := range cred.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	if err := s.store.CreateWebAuthnCredential(ctx, c); err != nil {
		return WebAuthnCredential{}, err
	}
	s.audit(ctx, Event{Type: EventMFAWebAuthnRegister, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP,
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
func (s *Service) RenameWebAuthnCredential(ctx context.Context, userID, id, name string, meta Meta) (WebAuthnCredential, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return WebAuthnCredential{}, invalid("name", "is required")
	}
	name, err := credentialName(name, s.now())
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
	s.audit(ctx, Event{Type: EventMFAWebAuthnRename, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: "credential " + id})
	return c, nil
}

// RemoveWebAuthnCredential removes one of the user's credentials after
// checking the user's password, as removing an authenticator app needs a
// current code: a second factor must not be taken off an account by
// whoever holds one of its sessions or access tokens alone.
func (s *Service) RemoveWebAuthnCredential(ctx context.Context, userID, id, password string, meta Meta) error {
	if _, err := s.checkFactorPassword(ctx, userID, password, "remove credential "+id, meta); err != nil {
		return err
	}
	// Read first, for the notice's name.
	c, err := s.store.WebAuthnCredentialByID(ctx, id)
	if err == nil && c.UserID != userID {
		err = ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebAuthnCredential(ctx, userID, id); err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventMFAWebAuthnRemove, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: "credential " + id})
	s.notifyFactor(ctx, userID, MailFactorRemoved, factorPasskey("the", c.Name))
	return nil
}

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
	t, err := s.liveMFAToken(ctx, mfaToken, MFAPurposeLogin)
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
func (s *Service) finishWebAuthnLogin(ctx context.Context, mfaToken, ceremonyID string, response []byte, meta Meta) (User, []string, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return User{}, nil, err
	}
	if mfaToken == "" {
		return s.finishPasskey(ctx, wa, ceremonyID, response, meta)
	}
	t, err := s.liveMFAToken(ctx, mfaToken, MFAPurposeLogin)
	if err != nil {
		return User{}, nil, err
	}
	sd, owner, err := s.takeCeremony(ctx, ceremonyID, ceremonyLogin)
	if err != nil {
		return User{}, nil, err
	}
	if owner != t.UserID {
		return User{}, nil, ErrInvalidCeremony
	}
	a, err := s.reserveAttempt(ctx, mfaThrottleKey(t.UserID), meta)
	if err != nil {
		return User{}, nil, err
	}
	defer s.abandon(ctx, a)
	user, stored, err := s.loadWAUser(ctx, t.UserID)
	if err != nil {
		return User{}, nil, err
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
		return User{}, nil, fail("sign-in answer does not parse", err)
	}
	cred, err := wa.ValidateLogin(user, sd, parsed)
	if err != nil {
		return User{}, nil, fail("sign-in answer rejected", err)
	}
	if err := s.recordAssertion(ctx, t.UserID, stored, cred, meta); err != nil {
		return User{}, nil, err
	}
	if err := s.store.SpendMFAToken(ctx, t.Hash, MFATokenMaxFailures, s.now().UTC()); err != nil {
		if errors.Is(err, ErrConflict) {
			return User{}, nil, ErrInvalidMFAToken
		}
		return User{}, nil, err
	}
	s.codeSucceeded(ctx, a, t.UserID)
	if err := s.loginAllowed(ctx, user.u, meta); err != nil {
		return User{}, nil, err
	}
	amr := append(slices.Clone(t.AMR), "hwk", "mfa")
	return user.u, amr, nil
}

func (s *Service) finishPasskey(ctx context.Context, wa *webauthn.WebAuthn, ceremonyID string, response []byte, meta Meta) (User, []string, error) {
	sd, _, err := s.takeCeremony(ctx, ceremonyID, ceremonyPasskey)
	if err != nil {
		return User{}, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return User{}, nil, s.webauthnFailed(ctx, nil, "", meta, "passkey answer does not parse", err)
	}
	// The answer names the user; their second-factor throttle is
	// reserved as soon as it is known, before the signature is checked.
	var (
		stored  []WebAuthnCredential
		user    waUser
		a       *attempt
		refusal error
	)
	defer func() { s.abandon(ctx, a) }()
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		u, st, err := s.loadWAUser(ctx, string(userHandle))
		if err != nil {
			refusal = err
			return nil, err
		}
		if a, err = s.reserveAttempt(ctx, mfaThrottleKey(u.u.ID), meta); err != nil {
			refusal = err
			return nil, err
		}
		user, stored = u, st
		return u, nil
	}
	_, cred, err := wa.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil {
		if refusal != nil && !errors.Is(refusal, ErrNotFound) {
			return User{}, nil, refusal // throttled, or the database failed
		}
		return User{}, nil, s.webauthnFailed(ctx, a, user.u.ID, meta, "passkey sign-in answer rejected", err)
	}
	if err := s.recordAssertion(ctx, user.u.ID, stored, cred, meta); err != nil {
		return User{}, nil, err
	}
	s.codeSucceeded(ctx, a, user.u.ID)
	if err := s.loginAllowed(ctx, user.u, meta); err != nil {
		return User{}, nil, err
	}
	return user.u, []string{"hwk", "user", "mfa"}, nil
}

// recordAssertion checks the signature counter of a verified assertion
// and stores it: a counter that did not advance (other than an
// authenticator that always sends 0) is a cloned authenticator, refused
// and audited.
func (s *Service) recordAssertion(ctx context.Context, userID string, stored []WebAuthnCredential, cred *webauthn.Credential, meta Meta) error {
	id := base64.RawURLEncoding.EncodeToString(cred.ID)
	i := slices.IndexFunc(stored, func(c WebAuthnCredential) bool { return c.ID == id })
	if i < 0 {
		return ErrWebAuthnRejected
	}
	if cred.Authenticator.CloneWarning {
		s.audit(ctx, Event{Type: EventMFAWebAuthnClone, Actor: userID, UserID: userID, IP: meta.IP,
			Detail: fmt.Sprintf("credential %s: signature counter %d after %d; refused as a possibly cloned authenticator", id, cred.Authenticator.SignCount, stored[i].SignCount)})
		return ErrClonedAuthenticator
	}
	err := s.store.UseWebAuthnCredential(ctx, id, stored[i].SignCount, cred.Authenticator.SignCount, cred.Flags.MsgpByte(), s.now().UTC())
	if errors.Is(err, ErrConflict) {
		// Another instance accepted an assertion of this credential in
		// between: the same counter twice.
		s.audit(ctx, Event{Type: EventMFAWebAuthnClone, Actor: userID, UserID: userID, IP: meta.IP,
			Detail: "credential " + id + ": signature counter already used; refused"})
		return ErrClonedAuthenticator
	}
	return err
}

// webauthnFailed audits a rejected answer and, when a throttle attempt
// was reserved for the user (a sign-in), settles it as a failure.
func (s *Service) webauthnFailed(ctx context.Context, a *attempt, userID string, meta Meta, detail string, cause error) error {
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
	s.audit(ctx, Event{Type: EventMFAFailure, Actor: actorOr(meta, userID), UserID: userID, IP: meta.IP, Detail: detail})
	return ErrWebAuthnRejected
}

// WebAuthnLogin finishes a REST sign-in with a passkey or security key
// (with the mfaToken of an mfa-required answer, or none for a passkey
// alone) and returns the tokens.
func (s *Service) WebAuthnLogin(ctx context.Context, mfaToken, ceremonyID string, response []byte, meta Meta) (TokenPair, error) {
	u, amr, err := s.finishWebAuthnLogin(ctx, mfaToken, ceremonyID, response, meta)
	if err != nil {
		return TokenPair{}, err
	}
	s.profiles.put(u.ID, Profile{Name: u.Name, EmailVerified: u.EmailVerified}, s.now())
	pair, err := s.issueUserTokens(ctx, u, "", s.cfg.LoginClientID, amr, meta)
	if err != nil {
		return TokenPair{}, err
	}
	s.audit(ctx, Event{Type: EventLoginSuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "WebAuthn: " + strings.Join(amr, " ")})
	return pair, nil
}

// WebAuthnSignIn finishes a hosted-page sign-in with a passkey or
// security key: the user and how they authenticated, for the caller to
// open the browser session with.
func (s *Service) WebAuthnSignIn(ctx context.Context, mfaToken, ceremonyID string, response []byte, meta Meta) (User, []string, error) {
	u, amr, err := s.finishWebAuthnLogin(ctx, mfaToken, ceremonyID, response, meta)
	if err != nil {
		return User{}, nil, err
	}
	s.audit(ctx, Event{Type: EventMFASuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "WebAuthn on the hosted page: " + strings.Join(amr, " ")})
	return u, amr, nil
}
