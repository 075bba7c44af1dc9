package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/upstream"
)

// linkIdentity links an identity at the audit's upstream "corp" (which
// cannot be reached) to the account of email, as a sign-in through it
// would have, for the account page's linked accounts.
func (a *auditRun) linkIdentity(t *testing.T, email string) {
	t.Helper()
	db := openDB(t, a.s.vars["SIGIL_DATABASE_URL"])
	u, err := db.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.LinkIdentity(t.Context(), upstream.Identity{UpstreamID: "corp", Subject: "248289761001", UserID: u.ID,
		Email: "audrey@corp.example.com", CreatedAt: a.clock.Now()}); err != nil {
		t.Fatal(err)
	}
}

// withoutPassword audits the account page of email as an account made
// by a first upstream sign-in sees it (no password) once its sign-in is
// no longer recent: the way to sign in again and "Set a password". The
// password is given back after.
func (a *auditRun) withoutPassword(t *testing.T, tab context.Context, email string) {
	t.Helper()
	db := openDB(t, a.s.vars["SIGIL_DATABASE_URL"])
	u, err := db.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPasswordHash(t.Context(), u.ID, "", a.clock.Now()); err != nil {
		t.Fatal(err)
	}
	a.clock.Add(authority.RecentSignIn + time.Minute)
	runBrowser(t, tab, chromedp.Navigate(a.iss+"/account"), chromedp.WaitVisible(`form.sign-in-again`))
	a.check(t, tab, "account-no-password")
	if err := db.SetPasswordHash(t.Context(), u.ID, u.PasswordHash, a.clock.Now()); err != nil {
		t.Fatal(err)
	}
}
