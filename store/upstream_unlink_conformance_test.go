package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/upstream"
)

// testUpstreamUnlink: an identity is unlinked only by its own user, and
// never when it is the user's last way to sign in (no password, no other
// identity), even when two unlinks race; a password makes the last
// identity removable.
func testUpstreamUnlink(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range []string{"corp", "lab"} {
		if err := db.CreateUpstream(ctx, upstream.Upstream{ID: id, Name: id, Type: "oidc", Issuer: "https://" + id + ".example.com",
			ClientID: "sigil", SealedSecret: "sealed", Scopes: []string{"openid"}, Linking: "none", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	// A user without a password, with two identities.
	u := authority.User{ID: authority.NewID(), Email: "nopass@example.com", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateLinkedUser(ctx, u, true, upstream.Identity{UpstreamID: "corp", Subject: "c1", UserID: u.ID, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.LinkIdentity(ctx, upstream.Identity{UpstreamID: "lab", Subject: "l1", UserID: u.ID, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	other := authority.User{ID: authority.NewID(), Email: "other@example.com", PasswordHash: "hash", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := db.UnlinkIdentity(ctx, other.ID, "corp", "c1"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("another user's identity unlinked: %v", err)
	}
	if err := db.UnlinkIdentity(ctx, u.ID, "corp", "nope"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("unknown identity: %v", err)
	}

	// Two unlinks at once of the two identities: exactly one wins, the
	// other is refused as the last way to sign in.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, idn := range [][2]string{{"corp", "c1"}, {"lab", "l1"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.UnlinkIdentity(ctx, u.ID, idn[0], idn[1])
		}()
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, upstream.ErrLastSignIn):
			refused++
		case err != nil:
			t.Errorf("concurrent unlink: %v", err)
		}
	}
	left, err := db.IdentitiesOf(ctx, u.ID)
	if refused != 1 || err != nil || len(left) != 1 {
		t.Fatalf("concurrent unlinks: %v; %d left (%v)", errs, len(left), err)
	}
	last := left[0]
	if err := db.UnlinkIdentity(ctx, u.ID, last.UpstreamID, last.Subject); !errors.Is(err, upstream.ErrLastSignIn) {
		t.Errorf("last way to sign in unlinked: %v", err)
	}
	if _, err := db.IdentityBySubject(ctx, last.UpstreamID, last.Subject); err != nil {
		t.Errorf("the refused unlink removed the identity: %v", err)
	}

	// With a password the last identity may go.
	if err := db.SetPasswordHash(ctx, u.ID, "hash", now); err != nil {
		t.Fatal(err)
	}
	if err := db.UnlinkIdentity(ctx, u.ID, last.UpstreamID, last.Subject); err != nil {
		t.Fatalf("unlink with a password: %v", err)
	}
	if list, err := db.IdentitiesOf(ctx, u.ID); err != nil || len(list) != 0 {
		t.Errorf("identities after the unlink: %+v %v", list, err)
	}
	if err := db.UnlinkIdentity(ctx, u.ID, last.UpstreamID, last.Subject); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("second unlink: %v", err)
	}
}
