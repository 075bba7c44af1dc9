package oidc

import (
	"slices"
	"strings"

	"github.com/sigil-auth/sigil/authority"
)

// amrFederated is the amr value of a sign-in through an upstream (RFC
// 8176 "fed"), as package upstream writes it.
const amrFederated = "fed"

// keepUpstream is the amr of a session that signed in through an
// upstream (its stored amr carries "fed" and the idp mark) and now steps
// up with a second factor on the hosted pages: the step-up adds the
// factor to that sign-in, so the upstream stays named and tokens keep
// their idp. Any other sign-in again (a password without a second
// factor, a step-up of a session that had one) replaces the amr.
func keepUpstream(old, next []string) []string {
	mark := slices.IndexFunc(old, func(m string) bool { return strings.HasPrefix(m, authority.IDPPrefix) })
	if mark < 0 || slices.Contains(old, "mfa") || !slices.Contains(next, "mfa") ||
		slices.ContainsFunc(next, func(m string) bool { return strings.HasPrefix(m, authority.IDPPrefix) }) {
		return next
	}
	out := slices.Clone(next)
	if slices.Contains(old, amrFederated) && !slices.Contains(out, amrFederated) {
		out = append(out, amrFederated)
	}
	return append(out, old[mark])
}
