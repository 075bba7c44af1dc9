package keys

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mustSealer(t *testing.T, spec string) *Sealer {
	t.Helper()
	s, err := ParseKEKs(spec)
	if err != nil {
		t.Fatalf("ParseKEKs(%q): %v", spec, err)
	}
	return s
}

const (
	kekA = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	kekB = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
)

func TestSealRoundTripBindsKID(t *testing.T) {
	s := mustSealer(t, kekA)
	secret := []byte("private key bytes")
	sealed, err := s.Seal("kid-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "private") {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open("kid-1", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("kid-2", sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("sealed key moved to another kid opened: %v", err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	if _, err := s.Open("kid-1", string(tampered)); !errors.Is(err, ErrUnseal) {
		t.Fatalf("tampered ciphertext opened: %v", err)
	}
}

func TestSeveralKEKsFirstSealsAllOpen(t *testing.T) {
	old := mustSealer(t, "old:"+kekA)
	sealedOld, _ := old.Seal("k", []byte("x"))
	both := mustSealer(t, "new:"+kekB+",old:"+kekA)
	if both.PrimaryID() != "new" {
		t.Fatalf("primary = %s", both.PrimaryID())
	}
	if _, err := both.Open("k", sealedOld); err != nil {
		t.Fatalf("second KEK does not open: %v", err)
	}
	sealedNew, _ := both.Seal("k", []byte("x"))
	if SealedBy(sealedNew) != "new" {
		t.Fatalf("sealed by %s, want new", SealedBy(sealedNew))
	}
	resealed, changed, err := both.Reseal("k", sealedOld)
	if err != nil || !changed || SealedBy(resealed) != "new" {
		t.Fatalf("Reseal = %s %v %v", SealedBy(resealed), changed, err)
	}
	if _, err := old.Open("k", sealedNew); !errors.Is(err, ErrUnseal) || !strings.Contains(err.Error(), `"new"`) {
		t.Fatalf("missing KEK error should name it: %v", err)
	}
}

func TestParseKEKsRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"", "short", "a:" + kekA + ",a:" + kekB, "bad.id:" + kekA, "x:" + kekA[:10]} {
		if _, err := ParseKEKs(spec); err == nil {
			t.Errorf("ParseKEKs(%q) accepted", spec)
		} else if strings.Contains(err.Error(), kekA[:10]) {
			t.Errorf("error echoes key material: %v", err)
		}
	}
}

func TestGeneratedKeysRoundTrip(t *testing.T) {
	s := mustSealer(t, kekA)
	for _, alg := range Algs {
		r, err := NewRecord(alg, s, testTime)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePublic(r); err != nil {
			t.Fatalf("%s public: %v", alg, err)
		}
		pub, _ := ParsePublic(r)
		priv, err := OpenPrivate(r, s)
		if err != nil {
			t.Fatalf("%s private: %v", alg, err)
		}
		if again, _ := PublicJWK(r.KID, alg, priv.Public()); !bytes.Equal(again, r.PublicJWK) || pub.KeyID != r.KID {
			t.Fatalf("%s: unsealed private key does not match the published key", alg)
		}
		snap, err := Build([]Record{{KID: r.KID, Alg: alg, State: Active, PublicJWK: r.PublicJWK, Sealed: r.Sealed, CreatedAt: testTime}}, s, testTime)
		if err != nil || snap.Active() == nil || snap.Active().KID != r.KID {
			t.Fatalf("%s snapshot: %v", alg, err)
		}
	}
}

// A kid is an argument of `sigil keys revoke`: it must never look like a
// flag.
func TestKIDsNeverLookLikeFlags(t *testing.T) {
	for i := 0; i < 5000; i++ {
		kid, err := newKID()
		if err != nil {
			t.Fatal(err)
		}
		if kid[0] == '-' || kid[0] == '_' || len(kid) != 16 {
			t.Fatalf("kid %q", kid)
		}
	}
}
