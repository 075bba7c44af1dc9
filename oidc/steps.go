package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// A hosted page that serves an authorization request carries a step
// ticket: the server's sealed record of which step the page was rendered
// for, for which request (the hash of its canonical query string), for
// which browser session and sign-in (the session id and its auth_time),
// and whether that sign-in had just happened for this very request. A
// post of the page is decided again from the request and the session as
// they are now; the ticket only says what the page was, so a form of one
// step (a prompt=login sign-in page, say) cannot be posted as another
// (the consent that issues a code), and "just signed in" cannot be
// claimed by a form.

// StepTicketTTL is how long a page's ticket may be posted back.
const StepTicketTTL = 15 * time.Minute

// stepTicketPurpose is bound into the AEAD as associated data, so a
// ticket opens as nothing else and nothing else opens as a ticket.
const stepTicketPurpose = "authorize-step"

// stepTicket is what a ticket holds, sealed.
type stepTicket struct {
	Step      string `json:"s"`
	AuthzHash string `json:"h"`
	SessionID string `json:"i"`
	AuthTime  int64  `json:"a"`
	Fresh     bool   `json:"f"`
	Expires   int64  `json:"x"`
}

// String names the step in tickets and logs.
func (st AuthorizeStep) String() string {
	switch st {
	case StepLogin:
		return "login"
	case StepConsent:
		return "consent"
	case StepIssue:
		return "issue"
	}
	return "unknown"
}

// newStepSealer returns the sealer of step tickets: the key-encryption
// keys, so that every instance opens what another sealed, or without them
// (tests, TOTP off) a key of this process alone.
func newStepSealer(kek *keys.Sealer) (*keys.Sealer, error) {
	if kek != nil {
		return kek, nil
	}
	own, err := keys.NewKEK()
	if err != nil {
		return nil, err
	}
	return keys.ParseKEKs(own)
}

func authzHash(authz string) string {
	h := sha256.Sum256([]byte(authz))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// StepTicket seals the ticket of a page of step rendered for the
// authorization request authz (its canonical query string) in the browser
// session sess; fresh says the session's sign-in happened for this
// request.
func (s *Service) StepTicket(step AuthorizeStep, authz string, sess BrowserSession, fresh bool) (string, error) {
	b, err := json.Marshal(stepTicket{Step: step.String(), AuthzHash: authzHash(authz), SessionID: sess.ID,
		AuthTime: sess.AuthTime.Unix(), Fresh: fresh, Expires: s.now().Add(StepTicketTTL).Unix()})
	if err != nil {
		return "", err
	}
	return s.steps.Seal(stepTicketPurpose, b)
}

// errStepTicket means a ticket was not sealed here for this step,
// request, session and sign-in, or has expired.
var errStepTicket = errors.New("the step ticket does not match")

// openStepTicket returns whether ticket is one of step for authz in sess
// and its sign-in as they are now, and whether it says that sign-in was
// fresh for this request.
func (s *Service) openStepTicket(ticket string, step AuthorizeStep, authz string, sess BrowserSession) (fresh bool, err error) {
	if ticket == "" || len(ticket) > 2048 {
		return false, errStepTicket
	}
	b, err := s.steps.Open(stepTicketPurpose, ticket)
	if err != nil {
		return false, errStepTicket
	}
	var t stepTicket
	if json.Unmarshal(b, &t) != nil {
		return false, errStepTicket
	}
	switch {
	case t.Step != step.String(), t.AuthzHash != authzHash(authz),
		t.SessionID == "" || t.SessionID != sess.ID, t.AuthTime != sess.AuthTime.Unix(),
		s.now().Unix() >= t.Expires:
		return false, errStepTicket
	}
	return t.Fresh, nil
}

// ConsentStep decides a post of the consent page that allows the request
// req (authz is its canonical query string) of client c, with the page's
// ticket, in the browser session sess. The whole request is decided again
// (prompt, max_age, acr_values, the client's requireMfa, the user's
// state, consent) as NextStep does, with the sign-in counted as fresh
// only when the ticket says so for this session, sign-in and request.
//
// The answer is StepIssue when consent may be recorded and a code issued;
// StepLogin when the user must sign in (again); StepConsent when the
// ticket is not this page's (another step's, request's or session's, or
// expired) and the consent page must be shown anew, issuing nothing.
func (s *Service) ConsentStep(ctx context.Context, ticket, authz string, req AuthorizeRequest, c authority.Client, sess BrowserSession) (AuthorizeStep, error) {
	fresh, terr := s.openStepTicket(ticket, StepConsent, authz, sess)
	step, err := s.NextStep(ctx, req, c, &sess, fresh)
	if err != nil {
		return 0, err
	}
	switch {
	case step == StepLogin:
		return StepLogin, nil
	case terr != nil:
		return StepConsent, nil
	}
	// StepConsent, or StepIssue when the consent was given meanwhile
	// (another tab): this page's answer stands.
	return StepIssue, nil
}
