package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
)

// family creates a user and a first refresh token and returns them.
func family(t *testing.T, db *store.DB, email string, now time.Time) (authority.User, authority.RefreshToken) {
	t.Helper()
	u := user(email)
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	rt := authority.RefreshToken{Hash: authority.HashToken(email + "-0"), FamilyID: "fam-" + email, UserID: u.ID, ClientID: "sigil",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateRefreshToken(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	return u, rt
}

func successor(prev authority.RefreshToken, n string, at time.Time) authority.RefreshToken {
	return authority.RefreshToken{Hash: authority.HashToken(prev.FamilyID + n), FamilyID: prev.FamilyID, UserID: prev.UserID,
		ClientID: prev.ClientID, CreatedAt: at, ExpiresAt: prev.ExpiresAt}
}

func liveTokens(t *testing.T, db *store.DB, familyID string) int {
	t.Helper()
	fam, err := db.RefreshFamily(context.Background(), familyID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rt := range fam {
		if rt.SpentAt.IsZero() && rt.RevokedAt.IsZero() {
			n++
		}
	}
	return n
}

// Spending is a compare-and-swap: the second spend of one token writes
// nothing, not even its would-be successor.
func testRefreshSpendCAS(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, rt := family(t, db, "spend@example.com", now)
	a := successor(rt, "a", now.Add(time.Second))
	if err := db.SpendRefreshToken(ctx, rt.Hash, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.RefreshTokenByHash(ctx, rt.Hash)
	if err != nil || got.SpentAt.IsZero() || got.ReplacedBy != a.Hash || !got.SpentAt.Equal(a.CreatedAt) {
		t.Fatalf("spent token = %+v, %v", got, err)
	}
	b := successor(rt, "b", now.Add(2*time.Second))
	if err := db.SpendRefreshToken(ctx, rt.Hash, b); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("second spend: %v, want ErrConflict", err)
	}
	if _, err := db.RefreshTokenByHash(ctx, b.Hash); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("the losing successor was stored: %v", err)
	}
	if n := liveTokens(t, db, rt.FamilyID); n != 1 {
		t.Fatalf("%d live tokens, want 1", n)
	}
	// An expired token cannot be spent.
	_, old := family(t, db, "expired@example.com", now.Add(-2*time.Hour))
	if err := db.SpendRefreshToken(ctx, old.Hash, successor(old, "x", now)); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("spend of an expired token: %v", err)
	}
}

// The grace retry is granted once, only inside the interval, and always
// revokes the successor it replaces.
func testRefreshRetryOnce(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, rt := family(t, db, "retry@example.com", now)
	a := successor(rt, "a", now.Add(time.Second))
	if err := db.SpendRefreshToken(ctx, rt.Hash, a); err != nil {
		t.Fatal(err)
	}
	// Outside the interval (spent before graceStart): refused.
	if err := db.RetryRefreshToken(ctx, rt.Hash, a.Hash, now.Add(2*time.Second), successor(rt, "late", now.Add(3*time.Second))); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("retry outside the grace: %v", err)
	}
	b := successor(rt, "b", now.Add(2*time.Second))
	if err := db.RetryRefreshToken(ctx, rt.Hash, a.Hash, now, b); err != nil {
		t.Fatalf("retry inside the grace: %v", err)
	}
	ra, _ := db.RefreshTokenByHash(ctx, a.Hash)
	if ra.RevokedAt.IsZero() {
		t.Fatal("the replaced successor is still live")
	}
	if n := liveTokens(t, db, rt.FamilyID); n != 1 {
		t.Fatalf("%d live tokens after the retry, want 1", n)
	}
	if err := db.RetryRefreshToken(ctx, rt.Hash, b.Hash, now, successor(rt, "c", now.Add(3*time.Second))); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("second retry: %v, want ErrConflict", err)
	}
	// A retry whose successor was already spent is refused whole.
	_, rt2 := family(t, db, "retry2@example.com", now)
	s1 := successor(rt2, "1", now)
	_ = db.SpendRefreshToken(ctx, rt2.Hash, s1)
	_ = db.SpendRefreshToken(ctx, s1.Hash, successor(rt2, "2", now))
	if err := db.RetryRefreshToken(ctx, rt2.Hash, s1.Hash, now, successor(rt2, "3", now)); !errors.Is(err, authority.ErrConflict) {
		t.Fatalf("retry over a spent successor: %v", err)
	}
	got, _ := db.RefreshTokenByHash(ctx, rt2.Hash)
	if !got.GraceUsedAt.IsZero() || got.ReplacedBy != s1.Hash {
		t.Fatalf("a refused retry changed the token: %+v", got)
	}
}

func testRefreshRevokeFamily(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	_, rt := family(t, db, "fam@example.com", now)
	a := successor(rt, "a", now)
	_ = db.SpendRefreshToken(ctx, rt.Hash, a)
	_, other := family(t, db, "other@example.com", now)
	n, err := db.RevokeRefreshFamily(ctx, rt.FamilyID, now)
	if err != nil || n != 1 {
		t.Fatalf("revoked %d live, %v; want 1", n, err)
	}
	fam, _ := db.RefreshFamily(ctx, rt.FamilyID)
	for _, x := range fam {
		if x.RevokedAt.IsZero() {
			t.Fatalf("token %s of the family not revoked", x.Hash)
		}
	}
	if n, _ := db.RevokeRefreshFamily(ctx, rt.FamilyID, now); n != 0 {
		t.Fatalf("second revocation counted %d live tokens", n)
	}
	if liveTokens(t, db, other.FamilyID) != 1 {
		t.Fatal("another family was revoked")
	}
}

func testClientsStored(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := authority.Client{ID: "c1", Name: "Billing", SecretHash: authority.HashToken("s"), Scopes: []string{"read", "write"},
		Audience: "billing", TokenTTL: 10 * time.Minute, CreatedAt: now}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClientByID(ctx, "c1")
	if err != nil || got.Name != c.Name || got.SecretHash != c.SecretHash || len(got.Scopes) != 2 || got.Scopes[1] != "write" ||
		got.Audience != "billing" || got.TokenTTL != 10*time.Minute || !got.CreatedAt.Equal(now) {
		t.Fatalf("client = %+v, %v", got, err)
	}
	if err := db.CreateClient(ctx, authority.Client{ID: "c2", Name: "n", SecretHash: "h", Scopes: []string{}, Audience: "a", CreatedAt: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListClients(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "c1" || list[1].Scopes == nil {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := db.DeleteClient(ctx, "c1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClientByID(ctx, "c1"); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("deleted client: %v", err)
	}
	if err := db.DeleteClient(ctx, "c1", now); !errors.Is(err, authority.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testDenyList(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := db.DenyAccessToken(ctx, "old", now.Add(-time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.DenyAccessToken(ctx, "j1", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if err := db.DenyAccessToken(ctx, "j1", now.Add(time.Hour), now); err != nil {
		t.Fatalf("denying twice: %v", err)
	}
	if n, _ := db.CountRows(ctx, "revoked_tokens"); n != 1 {
		t.Fatalf("%d rows; the expired entry should have been dropped", n)
	}
	got, err := db.DeniedAfter(ctx, 0, now)
	if err != nil || len(got) != 1 || got[0].JTI != "j1" || !got[0].ExpiresAt.Equal(now.Add(time.Hour)) || got[0].Seq <= 0 {
		t.Fatalf("denied = %+v, %v", got, err)
	}
	if got, _ := db.DeniedAfter(ctx, got[0].Seq, now); len(got) != 0 {
		t.Fatalf("entries at or before the sequence number returned: %+v", got)
	}
	// Sequence numbers grow whatever the writer's clock says, and are
	// not reused once the newest entry is gone.
	first := got[0].Seq
	if err := db.DenyAccessToken(ctx, "j2", now.Add(time.Hour), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err = db.DeniedAfter(ctx, first, now)
	if err != nil || len(got) != 1 || got[0].JTI != "j2" || got[0].Seq <= first {
		t.Fatalf("entry written with a lagging clock: %+v, %v", got, err)
	}
}

func testImportAllOrNothing(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.CreateUser(ctx, user("taken@example.com")); err != nil {
		t.Fatal(err)
	}
	users := []authority.User{user("new1@example.com"), user("taken@example.com"), user("new2@example.com")}
	existing, err := db.ExistingEmails(ctx, []string{"new1@example.com", "taken@example.com"})
	if err != nil || len(existing) != 1 || existing[0] != "taken@example.com" {
		t.Fatalf("existing = %v, %v", existing, err)
	}
	taken, err := db.ImportUsers(ctx, users)
	if err != nil || len(taken) != 1 || taken[0] != "taken@example.com" {
		t.Fatalf("taken = %v, %v", taken, err)
	}
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Fatalf("%d users after a refused import, want 1", n)
	}
	taken, err = db.ImportUsers(ctx, []authority.User{users[0], users[2]})
	if err != nil || len(taken) != 0 {
		t.Fatalf("import: %v, %v", taken, err)
	}
	if n, _ := db.CountUsers(ctx); n != 3 {
		t.Fatalf("%d users, want 3", n)
	}
}

func testRefreshStored(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u := user("r@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rt := authority.RefreshToken{Hash: authority.HashToken("secret-token"), FamilyID: "f1", UserID: u.ID, ClientID: "sigil", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRefreshToken(ctx, rt); err == nil {
		t.Fatal("the same token hash was stored twice")
	}
}
