package authority_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// fixture is an authority on a real, migrated database with a signing key,
// driven by a test clock.
type fixture struct {
	svc *authority.Service
	db  *store.DB
	clk *keystest.Clock
}

func newFixture(t testing.TB, dbURL string, grace time.Duration) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	kek, _ := keys.NewKEK()
	sealer, err := keys.ParseKEKs(kek)
	if err != nil {
		t.Fatal(err)
	}
	clk := keystest.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	ring := &keys.Ring{}
	km := keys.NewManager(db, sealer, ring, keys.Policy{Alg: keys.EdDSA, PublishAhead: time.Hour, TokenTTL: 15 * time.Minute}, clk.Now, nil)
	if err := km.Bootstrap(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	svc, err := authority.New(authority.Config{
		Issuer: "http://sigil.test", Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour,
		Argon2:            authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		RefreshReuseGrace: grace,
	}, db, ring, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	mfa.New(svc, db, mfa.Config{})
	return &fixture{svc: svc, db: db, clk: clk}
}

func (f *fixture) login(t testing.TB, email string) authority.TokenPair {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.Signup(ctx, authority.Signup{Email: email, Password: "correct horse battery"}, authority.Meta{}); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Login(ctx, email, "correct horse battery", authority.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) refresh(tok string) (authority.TokenPair, error) {
	return f.svc.Refresh(context.Background(), tok, "sigil", "", "", authority.Meta{})
}

func (f *fixture) live(t *testing.T, tok string) int {
	t.Helper()
	rt, err := f.db.RefreshTokenByHash(context.Background(), authority.RefreshTokenKey(tok))
	if err != nil {
		t.Fatal(err)
	}
	fam, err := f.db.RefreshFamily(context.Background(), rt.FamilyID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range fam {
		if x.SpentAt.IsZero() && x.RevokedAt.IsZero() {
			n++
		}
	}
	return n
}

func (f *fixture) events(t *testing.T, typ string) int {
	t.Helper()
	ev, err := f.db.ListEvents(context.Background(), store.AuditQuery{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

// A retry of a just-spent token inside the grace interval succeeds once,
// replacing (and revoking) the successor it would have had.
func TestRefreshRetryInsideGraceSucceedsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, 5*time.Second)
		p0 := f.login(t, "grace@example.com")
		p1, err := f.refresh(p0.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(4 * time.Second) // still inside the 5 s grace
		p2, err := f.refresh(p0.RefreshToken)
		if err != nil {
			t.Fatalf("retry inside the grace: %v", err)
		}
		if p2.RefreshToken == p1.RefreshToken || f.live(t, p0.RefreshToken) != 1 {
			t.Fatal("the retry did not replace the successor with exactly one live token")
		}
		if f.events(t, "refresh.retry") != 1 {
			t.Fatal("no refresh.retry audit event")
		}
		p3, err := f.refresh(p2.RefreshToken)
		if err != nil {
			t.Fatalf("the retry's token: %v", err)
		}
		// A second retry, even inside the interval, is reuse.
		if _, err := f.refresh(p0.RefreshToken); !errors.Is(err, authority.ErrRefreshReuse) {
			t.Fatalf("second retry: %v, want ErrRefreshReuse", err)
		}
		if _, err := f.refresh(p3.RefreshToken); !errors.Is(err, authority.ErrInvalidGrant) {
			t.Fatal("the family survived a reuse")
		}
	})
}

// The successor a retry replaced was never seen by the client whose answer
// was lost; presenting it is theft and revokes the family.
func TestRefreshReplacedSuccessorRevokesFamily(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, 5*time.Second)
		p0 := f.login(t, "replaced@example.com")
		lost, err := f.refresh(p0.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := f.refresh(p0.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.refresh(lost.RefreshToken); !errors.Is(err, authority.ErrRefreshReuse) {
			t.Fatalf("replaced successor: %v, want ErrRefreshReuse", err)
		}
		if f.live(t, p2.RefreshToken) != 0 || f.events(t, "refresh.reuse") != 1 {
			t.Fatal("the family was not revoked with an audit event")
		}
		// After the family is revoked, a revoked token is just invalid.
		if _, err := f.refresh(lost.RefreshToken); !errors.Is(err, authority.ErrInvalidGrant) || errors.Is(err, authority.ErrRefreshReuse) {
			t.Fatalf("revoked token of a revoked family: %v", err)
		}
	})
}

// The same retry after the grace interval is theft: the family, newest
// token included, is revoked and an audit event written.
func TestRefreshReuseAfterGraceRevokesFamily(t *testing.T) {
	for _, grace := range []time.Duration{0, 5 * time.Second} {
		t.Run(grace.String(), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				f := newFixture(t, dbURL, grace)
				p0 := f.login(t, "reuse@example.com")
				p1, err := f.refresh(p0.RefreshToken)
				if err != nil {
					t.Fatal(err)
				}
				f.clk.Advance(grace + time.Millisecond)
				if _, err := f.refresh(p0.RefreshToken); !errors.Is(err, authority.ErrRefreshReuse) {
					t.Fatalf("reuse: %v, want ErrRefreshReuse", err)
				}
				if f.live(t, p1.RefreshToken) != 0 {
					t.Fatal("a token of the family is still live")
				}
				if _, err := f.refresh(p1.RefreshToken); !errors.Is(err, authority.ErrInvalidGrant) {
					t.Fatalf("newest token after reuse: %v", err)
				}
				if f.events(t, "refresh.reuse") != 1 {
					t.Fatal("no refresh.reuse audit event")
				}
			})
		})
	}
}

// A family's lifetime is absolute: rotation does not extend it.
func TestRefreshFamilyExpiresAbsolutely(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, 0)
		p := f.login(t, "abs@example.com")
		for i := 0; i < 3; i++ {
			f.clk.Advance(7 * time.Hour)
			var err error
			if p, err = f.refresh(p.RefreshToken); err != nil {
				t.Fatalf("refresh %d: %v", i, err)
			}
		}
		f.clk.Advance(4 * time.Hour) // 25 h after login, RefreshTTL is 24 h
		if _, err := f.refresh(p.RefreshToken); !errors.Is(err, authority.ErrInvalidGrant) || errors.Is(err, authority.ErrRefreshReuse) {
			t.Fatalf("refresh past the family's lifetime: %v", err)
		}
	})
}

// Many simultaneous refreshes with one token never leave two live tokens
// in the family: with the grace off at most one succeeds, with it on at
// most two (the rotation and its one retry).
func TestRefreshRaceNeverLeavesTwoLiveTokens(t *testing.T) {
	for _, grace := range []time.Duration{0, time.Minute} {
		t.Run("grace="+grace.String(), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				f := newFixture(t, dbURL, grace)
				p0 := f.login(t, "race@example.com")
				const n = 24
				var wg sync.WaitGroup
				var mu sync.Mutex
				var won []string
				start := make(chan struct{})
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						p, err := f.refresh(p0.RefreshToken)
						if err != nil && !errors.Is(err, authority.ErrInvalidGrant) {
							t.Errorf("refresh: %v", err)
						}
						if err == nil {
							mu.Lock()
							won = append(won, p.RefreshToken)
							mu.Unlock()
						}
					}()
				}
				close(start)
				wg.Wait()
				max := 1
				if grace > 0 {
					max = 2
				}
				if len(won) < 1 || len(won) > max {
					t.Fatalf("%d refreshes succeeded, want 1..%d", len(won), max)
				}
				if l := f.live(t, p0.RefreshToken); l > 1 {
					t.Fatalf("%d live tokens in the family", l)
				}
			})
		})
	}
}

// BenchmarkVerifyWithDenyList measures access-token verification with
// 1000 revoked tokens on the deny list: the list is an in-memory map,
// reloaded from the database at most once per second, so the hot path adds
// a map lookup under a read lock.
func BenchmarkVerifyWithDenyList(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprintf("revoked=%d", n), func(b *testing.B) { benchmarkVerify(b, n) })
	}
}

func benchmarkVerify(b *testing.B, revoked int) {
	f := newFixture(b, storetest.SQLiteURL(b), 0)
	ctx := context.Background()
	for i := 0; i < revoked; i++ {
		p := f.login(b, fmt.Sprintf("u%d@example.com", i))
		if err := f.svc.Revoke(ctx, "sigil", p.AccessToken, authority.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	live := f.login(b, "live@example.com")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.svc.Verify(ctx, live.AccessToken, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// /auth/me's profile cache does not keep an old answer for good: another
// instance on the same database may verify the email or rename the user,
// and this one reads it again once its entry is older than a few seconds.
func TestProfileCacheFollowsOtherWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newFixture(t, dbURL, 5*time.Second)
		ctx := context.Background()
		p := f.login(t, "profile@example.com")
		c, err := f.svc.Verify(ctx, p.AccessToken, "sigil")
		if err != nil {
			t.Fatal(err)
		}
		before, err := f.svc.Profile(ctx, c)
		if err != nil || before.EmailVerified {
			t.Fatalf("profile before verification = %+v, %v; want unverified", before, err)
		}
		// Written behind this service's back, as another instance would.
		if err := f.db.SetEmailVerified(ctx, c.Subject, "profile@example.com", f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(30 * time.Second)
		after, err := f.svc.Profile(ctx, c)
		if err != nil || !after.EmailVerified {
			t.Fatalf("profile 30 s after another writer verified the email = %+v, %v; want verified", after, err)
		}
	})
}
