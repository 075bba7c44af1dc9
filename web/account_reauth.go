package web

import (
	"net/http"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// The account page's sensitive forms (enrol an authenticator app, add or
// remove a passkey, link an account, change or set the password, delete
// the account) give the services an authority.Reauth: the password of an
// account that has one, and for an account without one (signed up
// through an upstream) the time this browser signed in, which must be
// within authority.RecentSignIn. The rule lives in authority; this file
// only gathers what the forms send and words the refusal.

// RecentSignIn is authority.RecentSignIn, for the pages' wording.
const RecentSignIn = authority.RecentSignIn

// reauth is what the post r of the session sess proves: the password in
// field (empty for an account without one) and the session's sign-in.
func reauth(r *http.Request, sess oidc.BrowserSession, field string) authority.Reauth {
	return authority.Reauth{Password: r.PostFormValue(field), SignedInAt: sess.AuthTime}
}

// signInRecent says whether the session's sign-in still lets an account
// without a password make a sensitive change.
func (p *Pages) signInRecent(sess oidc.BrowserSession) bool {
	return authority.SignInIsRecent(p.auth.Now(), sess.AuthTime)
}

// signInAgainAlert is the refusal of a sensitive change of an account
// without a password whose sign-in is too old (authority.ErrSignInNotRecent);
// the account page shows the way to sign in again with it.
func signInAgainAlert(what string) string {
	return "Your account has no password, so " + what + " needs a sign-in of the last " + humanDuration(RecentSignIn) +
		": sign in again first (below), then try again."
}
