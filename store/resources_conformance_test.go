package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
	"github.com/sigil-auth/sigil/store"
)

// testResources: resources, and the resource a code or a refresh token
// was granted for, behave the same on every store.
func testResources(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	r1 := oidc.Resource{ID: "r1", URI: "https://a.example.com/mcp", Name: "A", CreatedAt: now}
	r2 := oidc.Resource{ID: "r2", URI: "https://b.example.com/", Name: "B", CreatedAt: now.Add(time.Second)}
	for _, r := range []oidc.Resource{r1, r2} {
		if err := db.CreateResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateResource(ctx, oidc.Resource{ID: "r3", URI: r1.URI, Name: "again", CreatedAt: now}); !errors.Is(err, oidc.ErrResourceTaken) {
		t.Errorf("duplicate uri: %v", err)
	}
	got, err := db.ResourceByURI(ctx, r1.URI)
	if err != nil || got.ID != "r1" || got.Name != "A" || !got.CreatedAt.Equal(now) {
		t.Errorf("ResourceByURI: %+v %v", got, err)
	}
	if _, err := db.ResourceByURI(ctx, "https://none.example.com/"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("unknown uri: %v", err)
	}
	list, err := db.Resources(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "r1" || list[1].ID != "r2" {
		t.Errorf("Resources: %+v %v", list, err)
	}
	if err := db.DeleteResource(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteResource(ctx, "r1"); !errors.Is(err, authority.ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}

	u := user("res@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	rt := authority.RefreshToken{Hash: "h1", FamilyID: "f1", UserID: u.ID, ClientID: "app", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Resource: r2.URI}
	if err := db.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if back, err := db.RefreshTokenByHash(ctx, "h1"); err != nil || back.Resource != r2.URI {
		t.Errorf("refresh token resource: %q %v", back.Resource, err)
	}
	code := oidc.AuthCode{Hash: "c1", ClientID: "app", UserID: u.ID, SessionID: "s", RedirectURI: "https://app/cb",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute), Resource: r2.URI}
	if err := db.CreateAuthCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if back, err := db.RedeemAuthCode(ctx, "c1", now, "f2", "j", now.Add(time.Minute)); err != nil || back.Resource != r2.URI {
		t.Errorf("code resource: %q %v", back.Resource, err)
	}
}
