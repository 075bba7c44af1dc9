package keys

import (
	"context"
	"sort"
	"time"
)

// Removed is the status of a retired key whose retention has ended: it is
// no longer in the JWKS and tokens it signed no longer verify. It is a
// status shown to operators, never a stored State.
const Removed State = "removed"

// TimelineEntry is one key as an operator follows it through its life:
// its stored state, the status it has now (Removed for a retired key past
// retention), whether it is in the JWKS, and every date of its life,
// including those still to come (ActivatesAt of a pending key, LeavesAt of
// a retired one).
type TimelineEntry struct {
	KID         string
	Alg         Alg
	State       State
	Status      State
	Published   bool
	CreatedAt   time.Time
	ActivatesAt time.Time // a pending key: when the schedule lets it sign
	ActivatedAt time.Time
	RetiredAt   time.Time
	LeavesAt    time.Time // a retired key: when it leaves the JWKS
	RevokedAt   time.Time
}

// Timeline is the key set at one moment, newest key first, with the next
// scheduled rotation (zero when automatic rotation is off or no key is
// active).
type Timeline struct {
	Now          time.Time
	Keys         []TimelineEntry
	Active       *TimelineEntry
	NextRotation time.Time
	Policy       Policy
}

// BuildTimeline computes the timeline of recs at now under policy. It is
// pure, so the schedule it shows is the one plan follows: a pending key
// signs PublishAhead after it was created; without one, the next key is
// published RotationPeriod−PublishAhead after the active key started and
// signs RotationPeriod after.
func BuildTimeline(recs []Record, policy Policy, now time.Time) Timeline {
	tl := Timeline{Now: now, Policy: policy}
	sorted := append([]Record(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].CreatedAt.After(sorted[j].CreatedAt) })
	var pending *Record
	for i, r := range sorted {
		e := TimelineEntry{KID: r.KID, Alg: r.Alg, State: r.State, Status: r.State, Published: r.Published(now),
			CreatedAt: r.CreatedAt, ActivatedAt: r.ActivatedAt, RetiredAt: r.RetiredAt, RevokedAt: r.RevokedAt}
		switch r.State {
		case Pending:
			e.ActivatesAt = r.CreatedAt.Add(policy.PublishAhead)
			if pending == nil {
				pending = &sorted[i]
			}
		case Retired:
			e.LeavesAt = r.ExpiresAt
			if r.ActivatedAt.IsZero() {
				e.LeavesAt = r.RetiredAt
			}
			if !e.Published {
				e.Status = Removed
			}
		}
		tl.Keys = append(tl.Keys, e)
	}
	for i := range tl.Keys {
		if tl.Keys[i].State == Active {
			tl.Active = &tl.Keys[i]
		}
	}
	if tl.Active != nil && policy.RotationPeriod > 0 {
		if pending != nil {
			tl.NextRotation = pending.CreatedAt.Add(policy.PublishAhead)
		} else {
			tl.NextRotation = tl.Active.ActivatedAt.Add(policy.RotationPeriod)
		}
	}
	return tl
}

// Timeline returns the timeline of the key set in the database now.
func (m *Manager) Timeline(ctx context.Context) (Timeline, error) {
	recs, err := m.List(ctx)
	if err != nil {
		return Timeline{}, err
	}
	return BuildTimeline(recs, m.policy, m.now()), nil
}
