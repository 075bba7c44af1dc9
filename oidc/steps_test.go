package oidc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// NextStep decides with the account as it is now: a session whose user
// was locked or deleted since it signed in gets the sign-in page (or
// login_required with prompt=none), never a code.
func TestNextStepRechecksTheAccount(t *testing.T) {
	st := newMemStore()
	s := newTestService(t, st, keys.EdDSA, nil)
	ctx := context.Background()
	st.users["u1"] = authority.User{ID: "u1", Email: "a@example.com"}
	c := authority.Client{ID: "app", FirstParty: true}
	sess := &BrowserSession{ID: "s1", UserID: "u1", AuthTime: time.Now()}
	req := AuthorizeRequest{ClientID: "app", RedirectURI: "https://app.example/cb", MaxAge: -1}

	if step, err := s.NextStep(ctx, req, c, sess, false); err != nil || step != StepIssue {
		t.Fatalf("live account: %v %v, want StepIssue", step, err)
	}
	u := st.users["u1"]
	u.Locked = true
	st.users["u1"] = u
	if step, err := s.NextStep(ctx, req, c, sess, true); err != nil || step != StepLogin {
		t.Errorf("locked account: %v %v, want StepLogin", step, err)
	}
	none := req
	none.PromptNone = true
	var ae *AuthorizeError
	if _, err := s.NextStep(ctx, none, c, sess, false); !errors.As(err, &ae) || ae.Code != "login_required" {
		t.Errorf("locked account, prompt=none: %v, want login_required", err)
	}
	delete(st.users, "u1")
	if step, err := s.NextStep(ctx, req, c, sess, false); err != nil || step != StepLogin {
		t.Errorf("deleted account: %v %v, want StepLogin", step, err)
	}
}

// A consent post counts its sign-in as fresh only with the consent page's
// own ticket: the same step, request, session and sign-in, unexpired.
// Without one it issues nothing: the page is shown again, or the sign-in
// page when the request needs a fresh sign-in.
func TestConsentStepTicket(t *testing.T) {
	st := newMemStore()
	s := newTestService(t, st, keys.EdDSA, nil)
	now := time.Now()
	s.now = func() time.Time { return now }
	ctx := context.Background()
	st.users["u1"] = authority.User{ID: "u1", Email: "a@example.com"}
	c := authority.Client{ID: "app", FirstParty: true}
	sess := BrowserSession{ID: "s1", UserID: "u1", AuthTime: now.Add(-time.Hour).Truncate(time.Second)}
	plain := AuthorizeRequest{ClientID: "app", RedirectURI: "https://app.example/cb", MaxAge: -1}
	login := plain
	login.PromptLogin = true
	const authz = "client_id=app&prompt=login"

	ticket := func(step AuthorizeStep, authz string, sess BrowserSession, fresh bool) string {
		t.Helper()
		tk, err := s.StepTicket(step, authz, sess, fresh)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	other := sess
	other.ID = "s2"
	reauth := sess
	reauth.AuthTime = sess.AuthTime.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		ticket string
		req    AuthorizeRequest
		want   AuthorizeStep
	}{
		{"the page's ticket", ticket(StepConsent, authz, sess, false), plain, StepIssue},
		{"fresh ticket, prompt=login", ticket(StepConsent, authz, sess, true), login, StepIssue},
		{"ticket not fresh, prompt=login", ticket(StepConsent, authz, sess, false), login, StepLogin},
		{"no ticket", "", plain, StepConsent},
		{"no ticket, prompt=login", "", login, StepLogin},
		{"garbage", "v1.x.y", plain, StepConsent},
		{"another step's ticket", ticket(StepLogin, authz, sess, true), login, StepLogin},
		{"another step's ticket, no prompt", ticket(StepLogin, authz, sess, true), plain, StepConsent},
		{"another request's ticket", ticket(StepConsent, "client_id=app", sess, true), login, StepLogin},
		{"another session's ticket", ticket(StepConsent, authz, other, true), login, StepLogin},
		{"another sign-in's ticket", ticket(StepConsent, authz, reauth, true), login, StepLogin},
	} {
		if step, err := s.ConsentStep(ctx, tc.ticket, authz, tc.req, c, sess); err != nil || step != tc.want {
			t.Errorf("%s: %v %v, want %v", tc.name, step, err, tc.want)
		}
	}

	old := ticket(StepConsent, authz, sess, true)
	now = now.Add(StepTicketTTL)
	if step, err := s.ConsentStep(ctx, old, authz, login, c, sess); err != nil || step != StepLogin {
		t.Errorf("expired ticket: %v %v, want StepLogin", step, err)
	}
}
