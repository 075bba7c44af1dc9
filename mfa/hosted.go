package mfa

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sigil-auth/sigil/authority"
)

// The parts of TOTP enrolment that the hosted pages need beyond the REST
// endpoints: showing a pending enrolment again (after a wrong first code)
// and enrolling during a sign-in that SIGIL_MFA_REQUIRED_ROLES held back.

// Ref names the enrolment without showing its secret. The enrolment page
// carries it in its form, and PendingTOTP shows the secret again only
// against it: a session alone must not read the secret of an enrolment
// the user started and left, and confirm it without the password.
func (e TOTPEnrolment) Ref() string {
	sum := sha256.Sum256([]byte("sigil pending TOTP enrolment\x00" + e.Secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PendingTOTP returns the user's pending TOTP enrolment (secret and
// otpauth:// URI) so that the page that showed it (ref, from its Ref) can
// show it again; ErrNoTOTP when there is none, it is already confirmed,
// or ref is not its own.
func (s *Service) PendingTOTP(ctx context.Context, userID, ref string) (TOTPEnrolment, error) {
	e, err := s.pendingTOTP(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if subtle.ConstantTimeCompare([]byte(e.Ref()), []byte(ref)) != 1 {
		return TOTPEnrolment{}, ErrNoTOTP
	}
	return e, nil
}

func (s *Service) pendingTOTP(ctx context.Context, userID string) (TOTPEnrolment, error) {
	t, err := s.store.TOTPByUser(ctx, userID)
	if errors.Is(err, authority.ErrNotFound) || (err == nil && !t.ConfirmedAt.IsZero()) {
		return TOTPEnrolment{}, ErrNoTOTP
	}
	if err != nil {
		return TOTPEnrolment{}, err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	secret, err := s.openTOTP(t)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("pending TOTP secret of user %s: %w", userID, err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.issuerLabel(), AccountName: u.Email, Period: TOTPPeriod,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("pending TOTP URI: %w", err)
	}
	return TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// EnrollForSignIn starts a TOTP enrolment for the user of an enrolment
// token (from an EnrollmentRequiredError), replacing a pending one.
// The password is not asked again: the token was made when it was
// checked, lives EnrollTokenTTL and serves that sign-in only.
func (s *Service) EnrollForSignIn(ctx context.Context, enrollToken string, meta authority.Meta) (TOTPEnrolment, error) {
	t, err := s.liveMFAToken(ctx, enrollToken, PurposeEnroll)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.enrollTOTP(ctx, u, meta)
}

// PendingForSignIn is PendingTOTP for the user of an enrolment token,
// which is proof enough.
func (s *Service) PendingForSignIn(ctx context.Context, enrollToken string) (TOTPEnrolment, error) {
	t, err := s.liveMFAToken(ctx, enrollToken, PurposeEnroll)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.pendingTOTP(ctx, t.UserID)
}

// CompleteEnrolledSignIn confirms the TOTP enrolment of a sign-in held
// back by SIGIL_MFA_REQUIRED_ROLES with its first code and spends the
// enrolment token: the password was checked when the token was made, and
// the code proves the new authenticator, so the returned amr names both
// factors. It returns the user, who may now be signed in, and the
// recovery codes, shown this once; the caller opens the session.
func (s *Service) CompleteEnrolledSignIn(ctx context.Context, enrollToken, code string, meta authority.Meta) (authority.User, []string, []string, error) {
	t, err := s.liveMFAToken(ctx, enrollToken, PurposeEnroll)
	if err != nil {
		return authority.User{}, nil, nil, err
	}
	codes, err := s.ConfirmTOTP(ctx, t.UserID, code, meta)
	if err != nil {
		return authority.User{}, nil, nil, err
	}
	if err := s.store.SpendMFAToken(ctx, t.Hash, TokenMaxFailures, s.core.Now().UTC()); err != nil {
		if errors.Is(err, authority.ErrConflict) {
			return authority.User{}, nil, nil, ErrInvalidToken
		}
		return authority.User{}, nil, nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return authority.User{}, nil, nil, err
	}
	if err := s.core.LoginAllowed(ctx, u, meta); err != nil {
		return authority.User{}, nil, nil, err
	}
	s.core.Audit(ctx, authority.Event{Type: authority.EventMFASuccess, Actor: u.ID, UserID: u.ID, IP: meta.IP, Detail: "second factor enrolled during sign-in on the hosted page"})
	return u, withSecondFactor(t.AMR, MethodTOTP), codes, nil
}
