package upstream

import (
	"context"
	"errors"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// The outcomes of sign-ins through an upstream, as Config.Observe is told
// them: a small closed set, so that they can label a metric.
const (
	// OutcomeSignedIn: an identity linked already signed its user in.
	OutcomeSignedIn = "signed_in"
	// OutcomeCreated: a new account was created for the identity.
	OutcomeCreated = "created"
	// OutcomeLinked: the identity was linked to an existing account, at
	// once (verified email on both sides), after its password, or from
	// the account page (also when it was linked to that account already).
	OutcomeLinked = "linked"
	// OutcomeLinkAsked: an account with the email exists; its password
	// is asked before linking.
	OutcomeLinkAsked = "link_asked"
	// OutcomeCancelled: the user cancelled the link on the password page.
	OutcomeCancelled = "cancelled"
	// OutcomeRefused: the upstream answered the sign-in with an error
	// (often the user cancelled there).
	OutcomeRefused = "refused"
	// OutcomeBadState: a forged, replayed, foreign-browser or expired
	// state at the callback.
	OutcomeBadState = "failed_state"
	// OutcomeUnavailable: the upstream could not be reached or answered
	// nonsense (discovery, code exchange).
	OutcomeUnavailable = "failed_unavailable"
	// OutcomeRejected: the upstream's answer did not verify.
	OutcomeRejected = "failed_rejected"
	// OutcomeNoEmail: the upstream vouched for no email address.
	OutcomeNoEmail = "failed_no_email"
	// OutcomeNotFresh: a re-authentication that the upstream answered
	// with an older sign-in (its session), or without saying when.
	OutcomeNotFresh = "failed_not_fresh"
	// OutcomeAccount: the account may not sign in (locked, email not
	// verified), or a link from the account page brought back an
	// identity linked to another account.
	OutcomeAccount = "failed_account"
	// OutcomeError: anything else (the database, for one).
	OutcomeError = "failed_error"
)

// Outcomes lists every outcome.
func Outcomes() []string {
	return []string{OutcomeSignedIn, OutcomeCreated, OutcomeLinked, OutcomeLinkAsked, OutcomeCancelled, OutcomeRefused,
		OutcomeBadState, OutcomeUnavailable, OutcomeRejected, OutcomeNoEmail, OutcomeNotFresh, OutcomeAccount, OutcomeError}
}

// outcomeOf is the outcome of a failed sign-in.
func outcomeOf(err error) string {
	switch {
	case errors.Is(err, ErrBadState), errors.Is(err, ErrExpired):
		return OutcomeBadState
	case errors.Is(err, ErrRefused):
		return OutcomeRefused
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrUnsupportedType):
		return OutcomeUnavailable
	case errors.Is(err, ErrRejected):
		return OutcomeRejected
	case errors.Is(err, ErrNoEmail):
		return OutcomeNoEmail
	case errors.Is(err, ErrNotFresh):
		return OutcomeNotFresh
	case errors.Is(err, authority.ErrAccountLocked), errors.Is(err, authority.ErrEmailNotVerified), errors.Is(err, ErrLinkedElsewhere):
		return OutcomeAccount
	}
	return OutcomeError
}

// observeFailure reports the outcome of a failed sign-in at upstream id,
// only when id names a registered upstream: the id of a callback URL is
// the caller's to choose, and an outcome per invented id would grow the
// metric without bound.
func (s *Service) observeFailure(ctx context.Context, id string, err error) {
	if _, gerr := s.Get(ctx, id); gerr != nil {
		return
	}
	s.cfg.Observe(id, outcomeOf(err))
}

// timed runs call, one call to upstream id, and reports how long it took.
func (s *Service) timed(id string, call func() error) error {
	start := time.Now()
	err := call()
	s.cfg.ObserveCall(id, time.Since(start))
	return err
}

// IdentityCount is how many identities are linked through an upstream,
// and how many accounts among theirs have no password and no other
// upstream: deleting the upstream leaves those without a way to sign in
// until they reset their password.
type IdentityCount struct {
	Linked          int
	WithoutPassword int
}

// CountIdentities counts the identities linked through upstream id;
// authority.ErrNotFound for no such upstream.
func (s *Service) CountIdentities(ctx context.Context, id string) (IdentityCount, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return IdentityCount{}, err
	}
	return s.cfg.Store.CountIdentities(ctx, id)
}
