package authority

import (
	"context"
	"errors"
	"testing"

	"github.com/sigil-auth/sigil/keys"
)

// While the deny list has never been loaded (the database was away when
// the instance started), Verify cannot tell a revoked token from a good
// one: it answers ErrUnavailable, not the claims, until a load succeeds.
func TestVerifyRefusesUntilTheDenyListLoads(t *testing.T) {
	st := newMemStore()
	st.denyErr = ErrUnavailable
	s := newTestService(t, st, keys.EdDSA, nil)
	tok, err := s.Sign(s.NewAccessClaims("u1", "login", "", Audience{"sigil"}, s.cfg.AccessTTL), "password")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.LoadDenyList(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LoadDenyList with the database away: %v", err)
	}
	for range 3 {
		if c, err := s.Verify(ctx, tok, "sigil"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Verify before the first load: %+v, %v; want ErrUnavailable", c, err)
		}
	}
	st.mu.Lock()
	st.denyErr = nil
	st.mu.Unlock()
	if _, err := s.Verify(ctx, tok, "sigil"); err != nil {
		t.Fatalf("Verify once the deny list loads: %v", err)
	}
	// A later failed load keeps the copy: verification goes on.
	st.mu.Lock()
	st.denyErr = ErrUnavailable
	st.mu.Unlock()
	s.deny.mu.Lock()
	s.deny.loadedAt = s.deny.loadedAt.Add(-s.cfg.DenyListRefresh)
	s.deny.mu.Unlock()
	if _, err := s.Verify(ctx, tok, "sigil"); err != nil {
		t.Fatalf("Verify after a failed reload: %v", err)
	}
}
