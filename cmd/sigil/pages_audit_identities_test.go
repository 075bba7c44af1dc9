package main

import (
	"testing"

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
