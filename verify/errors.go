package verify

import "errors"

// Errors returned by [Verifier.Verify]. Every error that rejects a token
// matches [ErrInvalidToken] with [errors.Is]; the more specific ones
// ([ErrExpired], [ErrNotYetValid], [ErrUnknownKey]) match as well, so callers
// can tell the cases apart when they need to.
var (
	// ErrMissingToken means that no token was presented at all.
	ErrMissingToken = errors.New("verify: no bearer token")

	// ErrInvalidToken means that the token was rejected: it is malformed,
	// its signature or header is wrong, or a claim does not match.
	ErrInvalidToken = errors.New("verify: invalid token")

	// ErrExpired means that the token's exp lies further in the past than
	// the allowed leeway.
	ErrExpired = errors.New("verify: token expired")

	// ErrNotYetValid means that the token's nbf (or iat) lies further in the
	// future than the allowed leeway.
	ErrNotYetValid = errors.New("verify: token not valid yet")

	// ErrUnknownKey means that no published key has the token's kid, even
	// after the key set was refreshed (or a refresh was not allowed yet).
	ErrUnknownKey = errors.New("verify: unknown signing key")

	// ErrInsufficientScope means that the token is valid but lacks a scope
	// or role that the Verifier requires. It does not match
	// [ErrInvalidToken].
	ErrInsufficientScope = errors.New("verify: insufficient scope")
)

// tokenError rejects a token. Its reason is a fixed phrase that never
// contains data from the token, so it is safe to send back to the client.
type tokenError struct {
	kind   error  // ErrInvalidToken or one of the sentinels that imply it
	reason string // short and safe to show to clients
	err    error  // underlying cause, or nil
}

func invalid(reason string) error {
	return &tokenError{kind: ErrInvalidToken, reason: reason}
}

func (e *tokenError) Error() string {
	if e.err != nil {
		return "verify: " + e.reason + ": " + e.err.Error()
	}
	return "verify: " + e.reason
}

func (e *tokenError) Unwrap() []error {
	errs := make([]error, 0, 3)
	errs = append(errs, ErrInvalidToken)
	if e.kind != ErrInvalidToken {
		errs = append(errs, e.kind)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// description returns a client-safe description of why err rejected a
// token, for the error_description of a WWW-Authenticate challenge.
func description(err error) string {
	if te, ok := errors.AsType[*tokenError](err); ok {
		return te.reason
	}
	return "invalid token"
}
