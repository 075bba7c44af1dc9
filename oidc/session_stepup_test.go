package oidc

import (
	"slices"
	"testing"
)

// A step-up of an upstream sign-in keeps the upstream; every other sign-in
// again replaces the amr.
func TestKeepUpstream(t *testing.T) {
	for _, c := range []struct {
		old, next, want []string
	}{
		{[]string{"fed", "idp:corp"}, []string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa", "fed", "idp:corp"}},
		{[]string{"fed", "idp:corp"}, []string{"pwd", "hwk", "mfa"}, []string{"pwd", "hwk", "mfa", "fed", "idp:corp"}},
		// A password alone is a sign-in again, not a step-up.
		{[]string{"fed", "idp:corp"}, []string{"pwd"}, []string{"pwd"}},
		// A session that had a second factor already is signed in again.
		{[]string{"fed", "idp:corp", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}},
		// A new upstream sign-in names its own upstream.
		{[]string{"fed", "idp:corp"}, []string{"fed", "idp:lab", "otp", "mfa"}, []string{"fed", "idp:lab", "otp", "mfa"}},
		{[]string{"pwd"}, []string{"pwd", "otp", "mfa"}, []string{"pwd", "otp", "mfa"}},
	} {
		got := keepUpstream(c.old, c.next)
		if !slices.Equal(got, c.want) {
			t.Errorf("keepUpstream(%v, %v) = %v, want %v", c.old, c.next, got, c.want)
		}
	}
}
