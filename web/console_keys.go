package web

import (
	"time"
)

// timeline is GET /admin/keys/timeline as the console reads it.
type timeline struct {
	Keys           []timelineKey `json:"keys"`
	NextRotation   *time.Time    `json:"nextRotation"`
	RotationPeriod string        `json:"rotationPeriod"`
	PublishAhead   string        `json:"publishAhead"`
}

type timelineKey struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	Status      string     `json:"status"`
	Published   bool       `json:"published"`
	CreatedAt   *time.Time `json:"createdAt"`
	ActivatesAt *time.Time `json:"activatesAt"`
	ActivatedAt *time.Time `json:"activatedAt"`
	RetiredAt   *time.Time `json:"retiredAt"`
	LeavesAt    *time.Time `json:"leavesJwksAt"`
	RevokedAt   *time.Time `json:"revokedAt"`
}

// published counts the keys in the JWKS.
func (t timeline) published() int {
	n := 0
	for _, k := range t.Keys {
		if k.Published {
			n++
		}
	}
	return n
}
