package authority

import (
	"errors"
	"fmt"
)

// Errors of the domain. The api package maps each to an HTTP status in one
// place.
var (
	// ErrInvalidCredentials is the one answer to a login with an unknown
	// email or a wrong password, so the two cannot be told apart.
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrEmailTaken         = errors.New("email is already registered")
	ErrNotFound           = errors.New("not found")
	ErrInvalidToken       = errors.New("invalid token")
	// ErrUnavailable means the database did not answer in time; the
	// request may be retried.
	ErrUnavailable = errors.New("service temporarily unavailable")
	// ErrCircuitOpen is an ErrUnavailable for a request refused without
	// trying the database, because a recent query found it gone; the store
	// logs the outage once, not per request.
	ErrCircuitOpen = fmt.Errorf("%w: database circuit open after a failed query; a background probe is checking", ErrUnavailable)
	// ErrOverloaded means every password-hashing slot is busy and the
	// queue for them is full: the request was refused without being
	// worked on and may be retried shortly.
	ErrOverloaded = errors.New("too many concurrent password checks")
	// ErrConflict means a concurrent change won; the caller may retry.
	ErrConflict = errors.New("conflicting concurrent change")

	// ErrInvalidGrant means a refresh token is unknown, spent, revoked,
	// expired or issued to another client (RFC 6749 invalid_grant).
	ErrInvalidGrant = errors.New("invalid grant")
	// ErrRefreshReuse is an ErrInvalidGrant for a spent refresh token
	// presented again: its whole family has been revoked.
	ErrRefreshReuse = fmt.Errorf("%w: refresh token reused; its session is revoked", ErrInvalidGrant)
	// ErrInvalidClient means client authentication failed.
	ErrInvalidClient = errors.New("invalid client")
	// ErrInvalidScope means a requested scope is not allowed.
	ErrInvalidScope = errors.New("invalid scope")
	// ErrUnauthorizedClient means the client may not use the grant.
	ErrUnauthorizedClient = errors.New("unauthorized client")
)

// ValidationError names the input field that is missing or invalid.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// Errors of a login refused for the account's state.
var (
	// ErrEmailNotVerified refuses a login while RequireVerifiedEmail is on
	// and the email is not verified; a new link has been mailed.
	ErrEmailNotVerified = errors.New("the email address is not verified")
	// ErrAccountLocked refuses a login to a locked account.
	ErrAccountLocked = errors.New("the account is locked")
)
