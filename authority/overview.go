package authority

import (
	"time"

	"github.com/sigil-auth/sigil/keys"
)

// Overview is what an operator sees first: the signing key and its
// schedule, whether the instance is ready, and the sizes and traffic of
// the authority.
type Overview struct {
	Timeline keys.Timeline
	// SigningAlg and ActiveKID describe the active key ("" without one).
	SigningAlg   keys.Alg
	ActiveKID    string
	ActiveSince  time.Time
	ActiveKeyAge time.Duration
	// NextRotation is when the schedule next replaces the active key
	// (zero when automatic rotation is off).
	NextRotation time.Time
	Ready        bool
	ReadyReason  string
	Counts
	// TokensIssued is the number of access tokens this instance issued in
	// the last TokensWindow: an hour, or less while the instance is
	// younger than that.
	TokensIssued int64
	TokensWindow time.Duration
}

// NewOverview assembles an overview from its parts.
func NewOverview(tl keys.Timeline, counts Counts, ready bool, reason string, issued int64, window time.Duration) Overview {
	o := Overview{Timeline: tl, Counts: counts, Ready: ready, ReadyReason: reason, TokensIssued: issued,
		TokensWindow: window, NextRotation: tl.NextRotation}
	if a := tl.Active; a != nil {
		o.SigningAlg, o.ActiveKID, o.ActiveSince = a.Alg, a.KID, a.ActivatedAt
		o.ActiveKeyAge = tl.Now.Sub(a.ActivatedAt)
	}
	return o
}
