package upstream

import (
	"context"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

// IDPMark is how the upstream of a sign-in rides in its amr list through
// browser sessions, codes and refresh families: "idp:" + the upstream's
// id. authority.SplitAMR takes it out again as the idp claim.
func IDPMark(id string) string { return authority.IDPPrefix + id }

// Link finishes a link ticket with the password of the account it names:
// the password is checked exactly as a sign-in does (throttle, lockout,
// the hashing gate, the second-factor gate). A wrong password keeps the
// ticket for another try; an account with a second factor gets
// authority's MFARequiredError, and LinkAfterSecondFactor finishes once
// the factor is passed. On success the identity is linked and the user
// may be signed in with Result.AMR.
func (s *Service) Link(ctx context.Context, ticket, browser, password string, meta authority.Meta) (Result, error) {
	p, err := s.take(ctx, ticket, KindLink, "", browser)
	if err != nil {
		s.fail(ctx, "", "", meta, err)
		return Result{}, err
	}
	user, err := s.cfg.Core.UserByID(ctx, p.UserID)
	if err != nil {
		return Result{}, err
	}
	_, err = s.cfg.Core.AuthenticatePassword(ctx, user.Email, password, meta)
	if err != nil {
		// The ticket stays for another try, or for the second factor the
		// error asks for; the throttle counts the attempts.
		if perr := s.cfg.Store.PutPending(ctx, p); perr != nil {
			return Result{}, perr
		}
		return Result{Authz: p.Authz, LinkTicket: ticket, LinkEmail: user.Email}, err
	}
	return s.linkPending(ctx, p, user, []string{"pwd"}, meta)
}

// LinkAfterSecondFactor finishes a link ticket whose account passed its
// password and then its second factor: u is the user the second factor
// signed in, who must be the one the ticket names.
func (s *Service) LinkAfterSecondFactor(ctx context.Context, ticket, browser string, u authority.User, meta authority.Meta) (Result, error) {
	p, err := s.take(ctx, ticket, KindLink, "", browser)
	if err == nil && p.UserID != u.ID {
		err = ErrBadState
	}
	if err != nil {
		s.fail(ctx, "", u.ID, meta, err)
		return Result{}, err
	}
	return s.linkPending(ctx, p, u, nil, meta)
}

// HoldForSecondFactor keeps a link ticket, whose account's password was
// just accepted, alive for at least d more (at most PendingTTL): the
// second factor the password asked for may take as long as its own step
// lasts, however long the password took. The ticket stays bound to its
// browser.
func (s *Service) HoldForSecondFactor(ctx context.Context, ticket, browser string, d time.Duration) error {
	p, err := s.take(ctx, ticket, KindLink, "", browser)
	if err != nil {
		return err
	}
	if until := s.cfg.Now().Add(min(d, PendingTTL)); until.After(p.ExpiresAt) {
		p.ExpiresAt = until
	}
	return s.cfg.Store.PutPending(ctx, p)
}

// Cancel drops a link ticket: nothing is linked.
func (s *Service) Cancel(ctx context.Context, ticket, browser string) (authz string) {
	p, err := s.take(ctx, ticket, KindLink, "", browser)
	if err != nil {
		return ""
	}
	s.cfg.Observe(p.UpstreamID, OutcomeCancelled)
	return p.Authz
}

func (s *Service) linkPending(ctx context.Context, p Pending, user authority.User, amr []string, meta authority.Meta) (Result, error) {
	u, err := s.Get(ctx, p.UpstreamID)
	if err != nil {
		return Result{}, err
	}
	idn := Identity{UpstreamID: p.UpstreamID, Subject: p.Subject, UserID: user.ID, Email: p.Email, CreatedAt: s.cfg.Now().UTC()}
	if err := s.link(ctx, idn, meta, "with the account's password"); err != nil {
		return Result{}, err
	}
	s.succeeded(ctx, u, user, meta, "linked with the account's password")
	s.cfg.Observe(u.ID, OutcomeLinked)
	return Result{User: user, AMR: append(amr, AMRFederated, IDPMark(u.ID)), Upstream: u, Authz: p.Authz}, nil
}
