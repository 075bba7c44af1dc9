package authority

import (
	"context"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
)

// A token signed by this authority's key but naming another issuer is
// explained as exactly that, and Verify rejects it too; a token Inspect
// finds valid is one Verify accepts.
func TestInspectAgreesWithVerify(t *testing.T) {
	s := newTestService(t, newMemStore(), keys.EdDSA, nil)
	ctx := context.Background()

	good := s.NewAccessClaims("user-1", "sigil", "", Audience{"sigil"}, time.Minute)
	tok, err := s.Sign(good, "test")
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Inspect(ctx, tok, "", Meta{})
	if err != nil || !in.Valid || len(in.Problems) != 0 || in.KeyState != "active" {
		t.Fatalf("good token: %+v %v", in, err)
	}
	if _, err := s.Verify(ctx, tok, ""); err != nil {
		t.Fatalf("Verify refused what Inspect accepted: %v", err)
	}

	other := s.NewAccessClaims("user-1", "sigil", "", Audience{"sigil"}, time.Minute)
	other.Issuer = "https://elsewhere.example"
	tok, err = s.Sign(other, "test")
	if err != nil {
		t.Fatal(err)
	}
	in, err = s.Inspect(ctx, tok, "", Meta{})
	if err != nil || in.Valid || len(in.Problems) != 1 || in.Problems[0].Code != ProblemWrongIssuer {
		t.Fatalf("other issuer: %+v %v", in, err)
	}
	if _, err := s.Verify(ctx, tok, ""); err == nil {
		t.Fatal("Verify accepted a token of another issuer")
	}
}
