package api

import (
	"context"
	"net/http"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// Overview assembles the operator's overview: the key timeline, readiness,
// counts and the access tokens issued in the last hour (from the
// sigil_tokens_issued_total counter). The console shows the same value.
func (s *Server) Overview(ctx context.Context) (authority.Overview, error) {
	tl, err := s.keys.Timeline(ctx)
	if err != nil {
		return authority.Overview{}, err
	}
	counts, err := s.auth.Counts(ctx)
	if err != nil {
		return authority.Overview{}, err
	}
	reason, _ := s.Readiness(ctx)
	n, window := s.metrics.TokensLastHour(time.Now())
	return authority.NewOverview(tl, counts, reason == "", reason, n, window), nil
}

// timelineKey is one key of GET /admin/keys/timeline.
type timelineKey struct {
	KID         string     `json:"kid"`
	Alg         keys.Alg   `json:"alg"`
	State       keys.State `json:"state"`
	Status      keys.State `json:"status"`
	Published   bool       `json:"published"`
	CreatedAt   *time.Time `json:"createdAt"`
	ActivatesAt *time.Time `json:"activatesAt,omitempty"`
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	RetiredAt   *time.Time `json:"retiredAt,omitempty"`
	LeavesAt    *time.Time `json:"leavesJwksAt,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
}

type timelineView struct {
	Keys           []timelineKey `json:"keys"`
	NextRotation   *time.Time    `json:"nextRotation"`
	RotationPeriod string        `json:"rotationPeriod"`
	PublishAhead   string        `json:"publishAhead"`
}

func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timelineOf(tl keys.Timeline) timelineView {
	v := timelineView{Keys: []timelineKey{}, NextRotation: utc(tl.NextRotation),
		RotationPeriod: tl.Policy.RotationPeriod.String(), PublishAhead: tl.Policy.PublishAhead.String()}
	for _, k := range tl.Keys {
		v.Keys = append(v.Keys, timelineKey{KID: k.KID, Alg: k.Alg, State: k.State, Status: k.Status, Published: k.Published,
			CreatedAt: utc(k.CreatedAt), ActivatesAt: utc(k.ActivatesAt), ActivatedAt: utc(k.ActivatedAt),
			RetiredAt: utc(k.RetiredAt), LeavesAt: utc(k.LeavesAt), RevokedAt: utc(k.RevokedAt)})
	}
	return v
}

// handleKeyTimeline answers GET /admin/keys/timeline: every key, newest
// first, with its status now (removed for a retired key past retention),
// whether it is in the JWKS, and its past and scheduled dates.
func (s *Server) handleKeyTimeline(w http.ResponseWriter, r *http.Request) {
	tl, err := s.keys.Timeline(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, timelineOf(tl))
}

// overviewView is the body of GET /admin/overview.
type overviewView struct {
	SigningAlg          keys.Alg     `json:"signingAlg"`
	ActiveKID           string       `json:"activeKid"`
	ActiveSince         *time.Time   `json:"activeSince"`
	ActiveKeyAgeSeconds int64        `json:"activeKeyAgeSeconds"`
	NextRotation        *time.Time   `json:"nextRotation"`
	Ready               bool         `json:"ready"`
	ReadyReason         string       `json:"readyReason,omitempty"`
	Users               int          `json:"users"`
	Clients             int          `json:"clients"`
	TokensIssued        int64        `json:"tokensIssuedLastHour"`
	TokensWindowSeconds int64        `json:"tokensWindowSeconds"`
	Keys                timelineView `json:"keyTimeline"`
}

// handleOverview answers GET /admin/overview.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	o, err := s.Overview(r.Context())
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, overviewView{SigningAlg: o.SigningAlg, ActiveKID: o.ActiveKID, ActiveSince: utc(o.ActiveSince),
		ActiveKeyAgeSeconds: int64(o.ActiveKeyAge / time.Second), NextRotation: utc(o.NextRotation),
		Ready: o.Ready, ReadyReason: o.ReadyReason, Users: o.Users, Clients: o.Clients,
		TokensIssued: o.TokensIssued, TokensWindowSeconds: int64(o.TokensWindow / time.Second), Keys: timelineOf(o.Timeline)})
}
