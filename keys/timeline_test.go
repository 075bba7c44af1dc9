package keys

import (
	"testing"
	"time"
)

// The timeline shows what the schedule will do: a pending key's
// activation, the next rotation, when a retired key leaves the JWKS, and
// "removed" once it has.
func TestBuildTimeline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policy := Policy{Alg: RS256, RotationPeriod: 720 * time.Hour, PublishAhead: time.Hour, TokenTTL: 15 * time.Minute}
	gone := Record{KID: "gone", Alg: RS256, State: Retired, CreatedAt: t0, ActivatedAt: t0, RetiredAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour + 16*time.Minute)}
	old := Record{KID: "old", Alg: RS256, State: Retired, CreatedAt: t0.Add(time.Minute), ActivatedAt: t0.Add(time.Hour), RetiredAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(2*time.Hour + 16*time.Minute)}
	act := Record{KID: "act", Alg: EdDSA, State: Active, CreatedAt: t0.Add(2 * time.Minute), ActivatedAt: t0.Add(2 * time.Hour)}
	bad := Record{KID: "bad", Alg: ES256, State: Revoked, CreatedAt: t0.Add(3 * time.Minute), RevokedAt: t0.Add(3 * time.Hour)}
	now := t0.Add(2*time.Hour + 5*time.Minute)

	tl := BuildTimeline([]Record{gone, old, act, bad}, policy, now)
	want := map[string]State{"gone": Removed, "old": Retired, "act": Active, "bad": Revoked}
	if len(tl.Keys) != 4 || tl.Keys[0].KID != "bad" {
		t.Fatalf("keys %+v", tl.Keys)
	}
	for _, k := range tl.Keys {
		if k.Status != want[k.KID] || k.Published != (k.KID == "old" || k.KID == "act") {
			t.Errorf("%s: status %s published %v", k.KID, k.Status, k.Published)
		}
	}
	if tl.Active == nil || tl.Active.KID != "act" || !tl.NextRotation.Equal(act.ActivatedAt.Add(720*time.Hour)) {
		t.Fatalf("active %+v next %v", tl.Active, tl.NextRotation)
	}
	if k := tl.Keys[2]; k.KID != "old" || !k.LeavesAt.Equal(old.ExpiresAt) {
		t.Fatalf("old leaves %v", k.LeavesAt)
	}

	// A pending key published ahead signs PublishAhead after its creation.
	pend := Record{KID: "next", Alg: RS256, State: Pending, CreatedAt: now}
	tl = BuildTimeline([]Record{old, act, pend}, policy, now)
	if !tl.Keys[0].ActivatesAt.Equal(now.Add(time.Hour)) || !tl.NextRotation.Equal(now.Add(time.Hour)) {
		t.Fatalf("pending: activates %v, next rotation %v", tl.Keys[0].ActivatesAt, tl.NextRotation)
	}

	// Rotation off: no next rotation.
	policy.RotationPeriod = 0
	if tl := BuildTimeline([]Record{act}, policy, now); !tl.NextRotation.IsZero() {
		t.Fatalf("rotation off: next %v", tl.NextRotation)
	}
}
