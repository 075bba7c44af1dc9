package authority_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/store/storetest"
)

// The first-run set-up token opens the set-up page for an hour, creates
// one administrator (email verified) and is spent by it; a failed
// creation leaves it good; any administrator, however created, voids
// it; none is made while an administrator exists.
func TestSetupTokenCreatesOneAdministratorWithinAnHour(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		f := newFixture(t, dbURL, 0)
		tok, err := f.svc.NewSetupToken(ctx)
		if err != nil || len(tok) < 40 {
			t.Fatalf("NewSetupToken = %q, %v", tok, err)
		}
		for _, bad := range []string{"", "x", tok + "x"} {
			if err := f.svc.CheckSetupToken(ctx, bad); !errors.Is(err, authority.ErrSetupLinkInvalid) {
				t.Errorf("CheckSetupToken(%q) = %v, want ErrSetupLinkInvalid", bad, err)
			}
		}
		f.clk.Advance(59 * time.Minute)
		if err := f.svc.CheckSetupToken(ctx, tok); err != nil {
			t.Fatalf("CheckSetupToken after 59 minutes = %v", err)
		}
		var ve *authority.ValidationError
		if _, err := f.svc.CreateFirstAdmin(ctx, tok, authority.Signup{Email: "root@example.com", Password: "short"}, authority.Meta{}); !errors.As(err, &ve) || ve.Field != "password" {
			t.Fatalf("CreateFirstAdmin with a short password = %v", err)
		}
		u, err := f.svc.CreateFirstAdmin(ctx, tok, authority.Signup{Email: "root@example.com", Password: "a long enough password"}, authority.Meta{})
		if err != nil || !u.Admin || !u.EmailVerified {
			t.Fatalf("CreateFirstAdmin = %+v, %v", u, err)
		}
		if stored, err := f.db.UserByID(ctx, u.ID); err != nil || !stored.Admin || !stored.EmailVerified {
			t.Fatalf("stored administrator %+v, %v", stored, err)
		}
		if _, err := f.svc.CreateFirstAdmin(ctx, tok, authority.Signup{Email: "second@example.com", Password: "a long enough password"}, authority.Meta{}); !errors.Is(err, authority.ErrSetupDone) {
			t.Errorf("the token again = %v, want ErrSetupDone", err)
		}
		if tok, err := f.svc.NewSetupToken(ctx); tok != "" || err != nil {
			t.Errorf("NewSetupToken with an administrator = %q, %v", tok, err)
		}
	})
}

// A set-up token is dead an hour after it was made, and as soon as an
// administrator exists by other means (SIGIL_ADMIN_EMAIL, the CLI).
func TestSetupTokenExpiresAndAnyAdministratorVoidsIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storetest.SQLiteURL(t), 0)
	tok, _ := f.svc.NewSetupToken(ctx)
	f.clk.Advance(time.Hour)
	if _, err := f.svc.CreateFirstAdmin(ctx, tok, authority.Signup{Email: "late@example.com", Password: "a long enough password"}, authority.Meta{}); !errors.Is(err, authority.ErrSetupLinkInvalid) {
		t.Errorf("the token after an hour = %v, want ErrSetupLinkInvalid", err)
	}

	tok, _ = f.svc.NewSetupToken(ctx)
	if _, err := f.svc.Signup(ctx, authority.Signup{Email: "env@example.com", Password: "a long enough password", Admin: true}, authority.Meta{Actor: "bootstrap"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CheckSetupToken(ctx, tok); !errors.Is(err, authority.ErrSetupDone) {
		t.Errorf("the token once an administrator exists = %v, want ErrSetupDone", err)
	}
}
