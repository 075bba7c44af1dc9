package oidc

import (
	"context"
	"errors"
	"fmt"

	"github.com/sigil-auth/sigil/authority"
)

// ErrDeviceNeedsFactor means the client requires a sign-in with a second
// factor and the user has none enrolled: the device cannot be confirmed.
var ErrDeviceNeedsFactor = errors.New("this client requires a second factor and the user has none enrolled")

// deviceThrottleKey is the key of the login throttle that counts an
// address's wrong user codes: the same store, lockout and doubling as
// failed passwords, in a key space of its own.
func deviceThrottleKey(ip string) string { return "device-code:" + authority.ClientBucket(ip) }

// LookupUserCode finds the pending device authorization of a user code
// typed at /device, and its client. A code that matches nothing is
// counted against the address of meta by the login throttle (lockout
// and doubling as for passwords, shared by every instance); a locked
// address gets a *authority.ThrottledError before anything is looked up.
// A correct code never resets the count, so knowing one's own code does
// not buy more guesses.
func (s *Service) LookupUserCode(ctx context.Context, raw string, meta authority.Meta) (DeviceAuthorization, authority.Client, error) {
	code, ok := NormalizeUserCode(raw)
	if !ok {
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeMalformed
	}
	attempt, err := s.core.ReserveAttempt(ctx, deviceThrottleKey(meta.IP), meta)
	if err != nil {
		return DeviceAuthorization{}, authority.Client{}, err
	}
	d, err := s.store.DeviceAuthorizationByUserCode(ctx, hashUserCode(code))
	if errors.Is(err, authority.ErrNotFound) {
		s.audit(ctx, authority.Event{Type: authority.EventDeviceCodeWrong, IP: meta.IP, Detail: "a user code that matches no device authorization was entered"})
		if _, serr := s.core.SettleAttempt(ctx, attempt, authority.AttemptFailed); serr != nil {
			return DeviceAuthorization{}, authority.Client{}, serr
		}
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeWrong
	}
	s.core.AbandonAttempt(ctx, attempt)
	if err != nil {
		return DeviceAuthorization{}, authority.Client{}, err
	}
	return s.liveDevice(ctx, d)
}

// PendingDevice returns the pending device authorization id (carried
// through the sign-in forms) and its client.
func (s *Service) PendingDevice(ctx context.Context, id string) (DeviceAuthorization, authority.Client, error) {
	if _, ok := DeviceAuthzID(deviceAuthz(id)); !ok {
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeExpired
	}
	d, err := s.store.DeviceAuthorizationByID(ctx, id)
	if errors.Is(err, authority.ErrNotFound) {
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeExpired
	}
	if err != nil {
		return DeviceAuthorization{}, authority.Client{}, err
	}
	return s.liveDevice(ctx, d)
}

// liveDevice checks that d can still be decided and returns its client.
func (s *Service) liveDevice(ctx context.Context, d DeviceAuthorization) (DeviceAuthorization, authority.Client, error) {
	switch {
	case d.Status != DevicePending:
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeUsed
	case !s.now().Before(d.ExpiresAt):
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeExpired
	}
	c, err := s.core.Client(ctx, d.ClientID)
	if errors.Is(err, authority.ErrNotFound) {
		// The client was deleted meanwhile.
		return DeviceAuthorization{}, authority.Client{}, ErrUserCodeExpired
	}
	if err != nil {
		return DeviceAuthorization{}, authority.Client{}, err
	}
	return d, c, nil
}

// DeviceRequest is d as an authorization request, so that the sign-in
// rules of NextStep (the account's state, the client's requireMfa, roles
// that need a second factor) decide the device grant too.
func DeviceRequest(d DeviceAuthorization) AuthorizeRequest {
	scopes, _ := authority.ParseScope(d.Scope)
	return AuthorizeRequest{ClientID: d.ClientID, Scopes: scopes, MaxAge: -1, Resource: d.Resource}
}

// DeviceStep decides what a device authorization of client c needs in
// the browser session sess (nil for none): StepLogin, or StepConsent (the
// confirmation, always shown, even when the user has consented to the
// client before). The rules are NextStep's.
func (s *Service) DeviceStep(ctx context.Context, d DeviceAuthorization, c authority.Client, sess *BrowserSession) (AuthorizeStep, error) {
	step, err := s.NextStep(ctx, DeviceRequest(d), c, sess, false)
	var ae *AuthorizeError
	if errors.As(err, &ae) {
		return 0, ErrDeviceNeedsFactor
	}
	if err != nil {
		return 0, err
	}
	if step == StepLogin {
		return StepLogin, nil
	}
	return StepConsent, nil
}

// DeviceTicket seals the step ticket of the confirmation page of d shown
// in sess.
func (s *Service) DeviceTicket(d DeviceAuthorization, sess BrowserSession) (string, error) {
	return s.StepTicket(StepConsent, deviceAuthz(d.ID), sess, false)
}

// DecideDevice records the answer of the confirmation page of device
// authorization id, posted with its ticket in the browser session sess.
// The sign-in is decided again (DeviceStep): StepLogin when the user must
// sign in (again), StepConsent when the ticket is not this page's (the
// page is shown anew, nothing recorded), StepIssue when the decision is
// recorded.
func (s *Service) DecideDevice(ctx context.Context, ticket, id string, allow bool, sess BrowserSession, meta authority.Meta) (AuthorizeStep, error) {
	d, c, err := s.PendingDevice(ctx, id)
	if err != nil {
		return 0, err
	}
	step, err := s.DeviceStep(ctx, d, c, &sess)
	if err != nil || step == StepLogin {
		return step, err
	}
	if _, err := s.openStepTicket(ticket, StepConsent, deviceAuthz(id), sess); err != nil {
		return StepConsent, nil
	}
	dec := DeviceDecision{Status: DeviceDenied, UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.AuthTime, AMR: sess.AMR, At: s.now().UTC()}
	event := authority.EventDeviceDenied
	if allow {
		dec.Status, event = DeviceApproved, authority.EventDeviceApproved
	}
	err = s.store.DecideDeviceAuthorization(ctx, id, dec)
	if errors.Is(err, authority.ErrConflict) {
		// Decided in another tab, or expired this instant.
		return 0, ErrUserCodeUsed
	}
	if err != nil {
		return 0, err
	}
	s.audit(ctx, authority.Event{Type: event, UserID: sess.UserID, IP: meta.IP,
		Detail: fmt.Sprintf("device authorization of client %s %s", c.ID, dec.Status) + scopeDetail(d.Scope, d.Resource)})
	return StepIssue, nil
}
