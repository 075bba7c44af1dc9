package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/sigil-auth/sigil/account"
	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/upstream"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the request field at fault: 422 answers, and the 400
	// of a missing password (adding a second factor).
	Field string `json:"field,omitempty"`
	// RequestID lets an operator find the request in the logs.
	RequestID string `json:"requestId,omitempty"`
}

// problemBase prefixes every problem type: a URN, since the types name
// kinds of failure rather than pages to fetch.
const problemBase = "urn:sigil:problem:"

func newProblem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: problemBase + slug, Title: title, Status: status, Detail: detail}
}

// Error lets a Problem travel as an error through handlers.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// Problems returned by the HTTP layer itself.
var (
	errUnsupportedMedia = newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "the request body must be application/json")
	errTooLarge         = newProblem(http.StatusRequestEntityTooLarge, "too-large", "Request body too large", "the request body must be at most 64 KiB")
	errUnauthenticated  = newProblem(http.StatusUnauthorized, "unauthenticated", "Authentication required", "a valid Bearer access token is required")
	errForbidden        = newProblem(http.StatusForbidden, "forbidden", "Forbidden", "the access token lacks the role this endpoint requires")
	errNotFound         = newProblem(http.StatusNotFound, "not-found", "Not found", "no such resource")
	errMethod           = newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "this endpoint does not accept that method")
)

func badJSON(detail string) *Problem {
	return newProblem(http.StatusBadRequest, "malformed-request", "Malformed request body", detail)
}

func invalidField(field, reason string) *Problem {
	p := newProblem(http.StatusUnprocessableEntity, "invalid-request", "Invalid request", field+" "+reason)
	p.Field = field
	return p
}

// problemFor maps a domain error to its problem. This is the one place
// where domain errors meet HTTP statuses.
func problemFor(err error) *Problem {
	var p *Problem
	var ve *authority.ValidationError
	switch {
	case errors.As(err, &p):
		cp := *p
		return &cp
	case errors.As(err, &ve):
		return invalidField(ve.Field, ve.Reason)
	case errors.Is(err, authority.ErrInvalidCredentials):
		return newProblem(http.StatusUnauthorized, "invalid-credentials", "Invalid credentials", "the email or password is incorrect")
	case errors.Is(err, account.ErrBadAccountToken):
		return newProblem(http.StatusBadRequest, "invalid-link-token", "Invalid or expired token", "the token is unknown, already used or expired; ask for a new link")
	case errors.Is(err, authority.ErrEmailNotVerified):
		return newProblem(http.StatusForbidden, "email-not-verified", "Email not verified",
			"confirm your email address with the link mailed to it; a new link has been sent to it")
	case errors.Is(err, authority.ErrAccountLocked):
		return newProblem(http.StatusForbidden, "account-locked", "Account locked", "this account is locked; contact an administrator")
	case errors.Is(err, mfa.ErrInvalidCode):
		return newProblem(http.StatusUnauthorized, "invalid-code", "Invalid code", "the code is wrong, expired or already used")
	case errors.Is(err, mfa.ErrInvalidToken):
		return newProblem(http.StatusUnauthorized, "invalid-mfa-token", "Invalid mfaToken", "the mfaToken is unknown, expired, spent or has seen too many wrong codes; log in again")
	case errors.Is(err, mfa.ErrTOTPEnrolled):
		return newProblem(http.StatusConflict, "totp-enrolled", "TOTP already enrolled", "remove the enrolled authenticator first")
	case errors.Is(err, mfa.ErrNoTOTP):
		return newProblem(http.StatusConflict, "no-pending-totp", "No pending TOTP enrolment", "start an enrolment with POST /auth/mfa/totp first")
	case errors.Is(err, authority.ErrEmailTaken):
		return newProblem(http.StatusConflict, "email-taken", "Email already registered", "an account with this email exists")
	case errors.Is(err, oidc.ErrResourceTaken):
		return newProblem(http.StatusConflict, "resource-taken", "Resource already registered", "a resource with this uri is registered")
	case errors.Is(err, upstream.ErrUpstreamTaken):
		return newProblem(http.StatusConflict, "upstream-taken", "Upstream already registered", "an upstream with this id is registered")
	case errors.Is(err, authority.ErrMFARequiredForRole):
		return newProblem(http.StatusForbidden, "mfa-enrollment-required", "Second factor required",
			"the account's roles require a sign-in with a second factor; sign in again (and enrol one if the account has none)")
	case errors.Is(err, authority.ErrInvalidGrant):
		return newProblem(http.StatusUnauthorized, "invalid-refresh-token", "Invalid refresh token", "the refresh token is invalid, expired, spent or revoked")
	case errors.Is(err, authority.ErrInvalidToken):
		return newProblem(http.StatusUnauthorized, "invalid-token", "Invalid token", "the access token is invalid or expired")
	case errors.Is(err, authority.ErrNotFound), errors.Is(err, keys.ErrKeyNotFound):
		cp := *errNotFound
		return &cp
	case errors.Is(err, authority.ErrConflict):
		return newProblem(http.StatusConflict, "conflict", "Conflict", "a concurrent change won; retry")
	case errors.Is(err, authority.ErrThrottled):
		return newProblem(http.StatusTooManyRequests, "throttled", "Too many requests", "too many attempts; retry after the number of seconds in Retry-After")
	case errors.Is(err, authority.ErrOverloaded):
		return newProblem(http.StatusServiceUnavailable, "overloaded", "Server busy", "too many password checks are in progress; retry in a second")
	case errors.Is(err, authority.ErrUnavailable):
		return newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable", "the authority cannot reach its database; retry shortly")
	}
	return newProblem(http.StatusInternalServerError, "internal", "Internal error", "the request could not be completed")
}

// writeProblem answers with an application/problem+json body. Unexpected
// errors are logged (never echoed) with the request id.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	p.RequestID = requestID(r.Context())
	// Shedding load is not a failure, and the store logs an outage once
	// when its breaker opens rather than once per refused request.
	if p.Status >= 500 && p.Type != problemBase+"overloaded" && !errors.Is(err, authority.ErrCircuitOpen) {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", p.RequestID), slog.String("err", err.Error()))
	}
	h := w.Header()
	switch p.Status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" && r.Header.Get("Authorization") != "" {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		} else if h.Get("WWW-Authenticate") == "" && p.Type != problemBase+"invalid-credentials" && p.Type != problemBase+"invalid-refresh-token" &&
			p.Type != problemBase+"invalid-code" && p.Type != problemBase+"invalid-mfa-token" {
			h.Set("WWW-Authenticate", `Bearer`)
		}
	case http.StatusServiceUnavailable:
		retry := 5
		if p.Type == problemBase+"overloaded" {
			// Hashing slots free up within a hash or two.
			retry = 1
		}
		h.Set("Retry-After", strconv.Itoa(retry))
	case http.StatusTooManyRequests:
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	writeJSONType(w, p.Status, "application/problem+json", p)
}

// retryAfterSeconds rounds a throttle's wait up to whole seconds, at
// least one.
func retryAfterSeconds(err error) int {
	var te *authority.ThrottledError
	if !errors.As(err, &te) {
		return 1
	}
	return max(1, int(math.Ceil(te.RetryAfter.Seconds())))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"title":"Internal error","status":500}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
