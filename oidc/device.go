package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// The device authorization grant (RFC 8628): a command-line tool asks
// for a device code and a user code, shows the user code, and polls the
// token endpoint while the user enters the code at /device, signs in and
// confirms. Both codes are stored hashed; the device code is 256 random
// bits, the user code eight letters of a vowel-free alphabet (about 34.6
// bits: guessing is throttled per address).

// Device grant parameters.
const (
	// DeviceCodeTTL is how long a device authorization may be confirmed
	// and its device code polled.
	DeviceCodeTTL = 10 * time.Minute
	// DeviceInterval is the polling interval a client is told; a poll
	// sooner than the current interval gets slow_down and adds
	// DeviceSlowDown to it (RFC 8628 §3.5).
	DeviceInterval = 5 * time.Second
	DeviceSlowDown = 5 * time.Second
	// UserCodeLetters is the user code's alphabet: consonants only, so
	// that no word is spelled, and no letter that looks like a digit.
	UserCodeLetters = "BCDFGHJKLMNPQRSTVWXZ"
	// UserCodeLength is the number of letters of a user code.
	UserCodeLength = 8
)

// The states of a device authorization.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
)

// Errors of the device grant. The token endpoint answers the first four
// with the RFC 8628 error of the same name.
var (
	ErrAuthorizationPending = errors.New("authorization_pending: the user has not confirmed yet")
	ErrSlowDown             = errors.New("slow_down: polled faster than the interval")
	ErrAccessDenied         = errors.New("access_denied: the user denied the request")
	ErrExpiredToken         = errors.New("expired_token: the device code has expired")
	// ErrUserCodeMalformed: what was entered is not eight letters of
	// the alphabet (nothing is counted or looked up).
	ErrUserCodeMalformed = errors.New("the code must be 8 letters")
	// ErrUserCodeWrong: no device authorization has this user code (a
	// guess, counted by the throttle).
	ErrUserCodeWrong = errors.New("no device authorization has this code")
	// ErrUserCodeExpired: the device authorization has expired.
	ErrUserCodeExpired = errors.New("the code has expired")
	// ErrUserCodeUsed: the device authorization was already allowed or
	// denied.
	ErrUserCodeUsed = errors.New("the code was already used")
)

// DeviceAuthorization is one device authorization request, as stored.
type DeviceAuthorization struct {
	ID             string
	DeviceCodeHash string
	UserCodeHash   string
	ClientID       string
	Scope          string
	Resource       string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	// Status is DevicePending, DeviceApproved or DeviceDenied.
	Status string
	// UserID, SessionID, AuthTime and AMR describe the sign-in that
	// decided it, DecidedAt when.
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	DecidedAt time.Time
	// UsedAt is when its tokens were issued (zero: not yet).
	UsedAt time.Time
}

// DeviceDecision is what the confirmation page records.
type DeviceDecision struct {
	Status    string
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
	At        time.Time
}

// DeviceStore keeps device authorizations. Package store satisfies it.
type DeviceStore interface {
	// CreateDeviceAuthorization stores d; authority.ErrConflict when its
	// user code hash is taken (the caller draws another).
	CreateDeviceAuthorization(ctx context.Context, d DeviceAuthorization) error
	// DeviceAuthorizationByUserCode, ByDeviceCode and ByID return
	// authority.ErrNotFound for none.
	DeviceAuthorizationByUserCode(ctx context.Context, userCodeHash string) (DeviceAuthorization, error)
	DeviceAuthorizationByDeviceCode(ctx context.Context, deviceCodeHash string) (DeviceAuthorization, error)
	DeviceAuthorizationByID(ctx context.Context, id string) (DeviceAuthorization, error)
	// DecideDeviceAuthorization records the decision of a pending,
	// unexpired authorization (one compare-and-swap);
	// authority.ErrConflict when it is no longer pending or has expired.
	DecideDeviceAuthorization(ctx context.Context, id string, d DeviceDecision) error
	// RedeemDeviceAuthorization marks an approved, unused authorization
	// used at at (one compare-and-swap, so its tokens are issued once);
	// authority.ErrConflict when it is not approved or already used.
	RedeemDeviceAuthorization(ctx context.Context, deviceCodeHash string, at time.Time) error
	// DeviceWatch returns a number that changes whenever a device
	// authorization may have been decided, here or on another instance,
	// and whether such decisions are being followed at all. A code read
	// pending at one number is still pending while it stays the same.
	DeviceWatch() (gen uint64, following bool)
}

// DeviceStart is the answer of the device authorization endpoint.
type DeviceStart struct {
	DeviceCode string
	// UserCode is formatted for people: WDJB-MJHT.
	UserCode string
	// ExpiresIn and Interval are in seconds.
	ExpiresIn int
	Interval  int
}

// StartDevice begins a device authorization for client c (authenticated,
// or public) asking for scope (empty: the client's registered scopes)
// and a token for resource (empty: the client's audience).
func (s *Service) StartDevice(ctx context.Context, c authority.Client, scope, resource string, meta authority.Meta) (DeviceStart, error) {
	if !c.HasGrant(authority.GrantDeviceCode) {
		return DeviceStart{}, fmt.Errorf("%w: the client may not use the device authorization grant", authority.ErrUnauthorizedClient)
	}
	scopes, err := deviceScopes(c, scope)
	if err != nil {
		return DeviceStart{}, err
	}
	if resource != "" {
		if err := s.core.CheckResource(ctx, resource); err != nil {
			return DeviceStart{}, err
		}
	}
	now := s.now().UTC()
	deviceCode := authority.RandomToken(32)
	d := DeviceAuthorization{
		ID: authority.NewTokenID(), DeviceCodeHash: authority.HashToken(deviceCode), ClientID: c.ID,
		Scope: strings.Join(scopes, " "), Resource: resource, CreatedAt: now, ExpiresAt: now.Add(DeviceCodeTTL), Status: DevicePending,
	}
	var userCode string
	for range 3 {
		userCode = newUserCode()
		d.UserCodeHash = hashUserCode(userCode)
		if err = s.store.CreateDeviceAuthorization(ctx, d); !errors.Is(err, authority.ErrConflict) {
			break
		}
	}
	if err != nil {
		return DeviceStart{}, err
	}
	s.pace.start(d.DeviceCodeHash, now, d.ExpiresAt)
	s.audit(ctx, authority.Event{Type: authority.EventDeviceStarted, IP: meta.IP,
		Detail: "device authorization started by client " + c.ID + scopeDetail(d.Scope, resource)})
	return DeviceStart{DeviceCode: deviceCode, UserCode: FormatUserCode(userCode),
		ExpiresIn: int(DeviceCodeTTL / time.Second), Interval: int(DeviceInterval / time.Second)}, nil
}

func scopeDetail(scope, resource string) string {
	out := ""
	if scope != "" {
		out += " for scope " + scope
	}
	if resource != "" {
		out += " and resource " + resource
	}
	return out
}

// deviceScopes are the scopes a device authorization asks for: those
// named (the OpenID scopes, or the client's registered ones), or the
// client's registered scopes when none is named, as an authorization
// request without scope gets.
func deviceScopes(c authority.Client, scope string) ([]string, error) {
	if scope == "" {
		scope = defaultScope(c)
	}
	scopes, err := authority.ParseScope(scope)
	if err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		if !slices.Contains(oidcScopes, sc) && !slices.Contains(c.Scopes, sc) {
			return nil, fmt.Errorf("%w: scope %q is not allowed for this client", authority.ErrInvalidScope, sc)
		}
	}
	return scopes, nil
}

// newUserCode draws UserCodeLength letters of UserCodeLetters uniformly
// (rejection sampling: a byte of 240 or more is drawn again).
func newUserCode() string {
	out := make([]byte, 0, UserCodeLength)
	buf := make([]byte, 16)
	for len(out) < UserCodeLength {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			if int(b) < 256-256%len(UserCodeLetters) && len(out) < UserCodeLength {
				out = append(out, UserCodeLetters[int(b)%len(UserCodeLetters)])
			}
		}
	}
	return string(out)
}

// FormatUserCode writes a user code as people read it: WDJB-MJHT.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode reads a user code as a person typed it: any case,
// with or without the dash and spaces. It reports false when the result
// is not UserCodeLength letters of the alphabet.
func NormalizeUserCode(in string) (string, bool) {
	if len(in) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r < 128 && strings.ContainsRune(UserCodeLetters, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != UserCodeLength {
		return "", false
	}
	return b.String(), true
}

// hashUserCode is what is stored of a user code: its SHA-256, under a
// prefix of its own so that it can never equal another token's hash.
func hashUserCode(code string) string { return authority.HashToken("device-user-code:" + code) }

// deviceAuthz is the value that carries a device authorization through
// the sign-in forms in place of an authorization request, and the
// request a confirmation page's step ticket is bound to.
func deviceAuthz(id string) string { return "device=" + id }

// DeviceAuthzID returns the device authorization id a sign-in form
// carries (see DeviceAuthz), and whether authz is one: ids are 22
// base64url characters (authority.NewTokenID), and nothing else is ever
// looked up.
func DeviceAuthzID(authz string) (string, bool) {
	id, ok := strings.CutPrefix(authz, "device=")
	if !ok || len(id) != 22 || !authority.PlainID(id) || strings.ContainsAny(id, "&=+/%") {
		return "", false
	}
	return id, true
}

// DeviceAuthz is deviceAuthz for the pages.
func DeviceAuthz(id string) string { return deviceAuthz(id) }
