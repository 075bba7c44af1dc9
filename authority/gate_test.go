package authority

import (
	"context"
	"errors"
	"testing"

	"github.com/sigil-auth/sigil/keys"
)

// A core whose second-factor gate was never set refuses password
// sign-ins, rather than skipping a second factor it cannot see.
func TestPasswordSignInNeedsTheSecondFactorGate(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, newMemStore(), keys.EdDSA, nil)
	if _, err := s.Signup(ctx, Signup{Email: "ada@example.com", Password: "password123"}, Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "ada@example.com", "password123", Meta{}); err != nil {
		t.Fatalf("login with the gate: %v", err)
	}
	s.SetSecondFactorGate(nil)
	if pair, err := s.Login(ctx, "ada@example.com", "password123", Meta{}); !errors.Is(err, errNoGate) {
		t.Fatalf("login without a gate: %+v, %v; want errNoGate", pair, err)
	}
	if u, err := s.AuthenticatePassword(ctx, "ada@example.com", "password123", Meta{}); !errors.Is(err, errNoGate) {
		t.Fatalf("hosted sign-in without a gate: %+v, %v; want errNoGate", u, err)
	}
}
