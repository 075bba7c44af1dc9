package inspect_test

import (
	"context"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/inspect"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// A token signed by this authority's key but naming another issuer is
// explained as exactly that, and Verify rejects it too; a token Inspect
// finds valid is one Verify accepts.
func TestInspectAgreesWithVerify(t *testing.T) {
	s, insp := newTestServices(t)
	ctx := context.Background()

	good := s.NewAccessClaims("user-1", "sigil", "", authority.Audience{"sigil"}, time.Minute)
	tok, err := s.Sign(good, "test")
	if err != nil {
		t.Fatal(err)
	}
	in, err := insp.Inspect(ctx, tok, "", authority.Meta{})
	if err != nil || !in.Valid || len(in.Problems) != 0 || in.KeyState != "active" {
		t.Fatalf("good token: %+v %v", in, err)
	}
	if _, err := s.Verify(ctx, tok, ""); err != nil {
		t.Fatalf("Verify refused what Inspect accepted: %v", err)
	}

	other := s.NewAccessClaims("user-1", "sigil", "", authority.Audience{"sigil"}, time.Minute)
	other.Issuer = "https://elsewhere.example"
	tok, err = s.Sign(other, "test")
	if err != nil {
		t.Fatal(err)
	}
	in, err = insp.Inspect(ctx, tok, "", authority.Meta{})
	if err != nil || in.Valid || len(in.Problems) != 1 || in.Problems[0].Code != inspect.ProblemWrongIssuer {
		t.Fatalf("other issuer: %+v %v", in, err)
	}
	if _, err := s.Verify(ctx, tok, ""); err == nil {
		t.Fatal("Verify accepted a token of another issuer")
	}
}

// A token of a third-party client registered without an audience
// carries the client's id as its audience; inspected without an audience
// it is valid, as Verify with that audience finds it.
func TestInspectKnowsClientAudiences(t *testing.T) {
	s, insp := newTestServices(t)
	ctx := context.Background()
	c, _, err := s.CreateClient(ctx, authority.NewClient{Name: "reports"}, authority.Meta{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.ClientCredentials(ctx, c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, tok.AccessToken, c.ID); err != nil {
		t.Fatalf("Verify for the client's audience: %v", err)
	}
	in, err := insp.Inspect(ctx, tok.AccessToken, "", authority.Meta{})
	if err != nil || !in.Valid {
		t.Fatalf("inspected without an audience: %+v %v", in, err)
	}
	in, err = insp.Inspect(ctx, tok.AccessToken, "https://elsewhere.example", authority.Meta{})
	if err != nil || in.Valid || len(in.Problems) != 1 || in.Problems[0].Code != inspect.ProblemWrongAudience {
		t.Fatalf("inspected for another audience: %+v %v", in, err)
	}
}

// newTestServices returns a core over a fresh SQLite database signing
// with one EdDSA key, and its inspector.
func newTestServices(t *testing.T) (*authority.Service, *inspect.Service) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLiteURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ring := keystest.Ring(t, keys.EdDSA, time.Now())
	core, err := authority.New(authority.Config{Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour,
		Argon2: authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}, db, ring, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return core, inspect.New(core, ring)
}
