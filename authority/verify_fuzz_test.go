package authority_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
	"github.com/sigil-auth/sigil/mfa"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

const fuzzIssuer = "http://sigil.test"

// fuzzAuthority is a Service over a real keyring with one active key of
// alg and a fixed clock.
func fuzzAuthority(f *testing.F, alg keys.Alg) (*authority.Service, *keys.Snapshot, time.Time) {
	f.Helper()
	now := time.Unix(1_800_000_000, 0)
	ring := keystest.Ring(f, alg, now.Add(-time.Hour))
	snap := ring.Load()
	// A real (empty) store behind the access-token deny list.
	db, err := store.Open(context.Background(), storetest.SQLiteURL(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	svc, err := authority.New(authority.Config{
		Issuer: fuzzIssuer, Audience: "sigil", AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour,
		Argon2: authority.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	}, db, ring, func() time.Time { return now }, nil)
	if err != nil {
		f.Fatal(err)
	}
	mfa.New(svc, db, mfa.Config{})
	return svc, snap, now
}

// checkAccepted asserts what every accepted token must satisfy.
func checkAccepted(t *testing.T, c *authority.Claims, kid string, now time.Time) {
	t.Helper()
	switch {
	case c.Issuer != fuzzIssuer:
		t.Fatalf("accepted a token of issuer %q", c.Issuer)
	case !c.Audience.Contains("sigil"):
		t.Fatalf("accepted a token for audience %v", c.Audience)
	case c.KID != kid:
		t.Fatalf("accepted a token of kid %q", c.KID)
	case c.Subject == "" || c.ID == "":
		t.Fatal("accepted a token without sub or jti")
	case now.After(time.Unix(c.Expiry, 0).Add(authority.Leeway)):
		t.Fatalf("accepted an expired token (exp %d)", c.Expiry)
	case now.Add(authority.Leeway).Before(time.Unix(c.NotBefore, 0)):
		t.Fatalf("accepted a token not valid yet (nbf %d)", c.NotBefore)
	}
}

func verifyErrOK(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, authority.ErrInvalidToken) {
		t.Fatalf("Verify failed with %v, want ErrInvalidToken", err)
	}
}

// FuzzVerify feeds arbitrary strings to token parsing and verification:
// no input panics, every refusal is ErrInvalidToken, and nothing is
// accepted that does not meet every rule.
func FuzzVerify(f *testing.F) {
	svc, snap, now := fuzzAuthority(f, keys.EdDSA)
	kid := snap.Active().KID
	good, err := svc.Sign(svc.NewAccessClaims("user-1", "sigil", "", authority.Audience{"sigil"}, 15*time.Minute), "password")
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")                                     // signature stripped
	f.Add(parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-2] + "AA") // signature altered
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+kid+`","typ":"at+jwt"}`)) + "." + parts[1] + ".")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := svc.Verify(context.Background(), raw, "")
		if err != nil {
			verifyErrOK(t, err)
			return
		}
		checkAccepted(t, c, kid, now)
	})
}

// FuzzVerifySignedClaims signs arbitrary payloads with the real active
// key, so the signature is always good and the claim checks are what the
// fuzzer exercises.
func FuzzVerifySignedClaims(f *testing.F) {
	svc, snap, now := fuzzAuthority(f, keys.ES256)
	kid := snap.Active().KID
	f.Add([]byte(`{"iss":"http://sigil.test","sub":"u","aud":"sigil","exp":1800000600,"nbf":1800000000,"iat":1800000000,"jti":"j"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		raw, err := snap.Active().Sign(payload)
		if err != nil {
			return
		}
		c, err := svc.Verify(context.Background(), raw, "")
		if err != nil {
			verifyErrOK(t, err)
			return
		}
		checkAccepted(t, c, kid, now)
	})
}
