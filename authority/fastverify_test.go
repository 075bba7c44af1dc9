package authority

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/keys/keystest"
)

// signedForTest returns a service of alg and a token it signed, whose
// header go-jose has verified once (so the direct path knows it).
func signedForTest(t testing.TB, alg keys.Alg) (*Service, string) {
	t.Helper()
	s := newTestService(t, newMemStore(), alg, nil)
	c := s.NewAccessClaims("user-1", "login", "", Audience{"sigil"}, time.Minute)
	c.Email, c.Roles = "ada@example.com", []string{"admin"}
	tok, err := s.Sign(c, "password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.verifyJOSE(tok); err != nil {
		t.Fatal(err)
	}
	return s, tok
}

// sameJudgement fails unless the direct path and go-jose's path give raw
// the same claims or the same error.
func sameJudgement(t *testing.T, s *Service, raw string) {
	t.Helper()
	direct, ok, errDirect := s.verifyKnownHeader(raw)
	viaJOSE, errJOSE := s.verifyJOSE(raw)
	if !ok {
		if errJOSE == nil {
			t.Fatalf("direct path declined %q, which go-jose accepts", raw)
		}
		return
	}
	switch {
	case (errDirect == nil) != (errJOSE == nil):
		t.Fatalf("direct path: %v, go-jose: %v", errDirect, errJOSE)
	case errDirect != nil && errDirect.Error() != errJOSE.Error():
		t.Fatalf("direct path: %q, go-jose: %q", errDirect, errJOSE)
	case errDirect == nil && !reflect.DeepEqual(direct, viaJOSE):
		t.Fatalf("claims differ: direct %+v, go-jose %+v", direct, viaJOSE)
	}
}

// TestKnownHeaderJudgesLikeGoJose: tokens of a known header, intact or
// tampered in payload or signature, get the same answer on the direct path
// as through go-jose, for every algorithm.
func TestKnownHeaderJudgesLikeGoJose(t *testing.T) {
	for _, alg := range keys.Algs {
		t.Run(string(alg), func(t *testing.T) {
			s, tok := signedForTest(t, alg)
			h, rest, _ := strings.Cut(tok, ".")
			payload, sig, _ := strings.Cut(rest, ".")
			flip := func(seg string, i int) string {
				b := []byte(seg)
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				return string(b)
			}
			cases := map[string]string{
				"intact":                      tok,
				"payload changed":             h + "." + flip(payload, 10) + "." + sig,
				"signature changed":           h + "." + payload + "." + flip(sig, 5),
				"signature truncated":         h + "." + payload + "." + sig[:len(sig)-4],
				"signature empty":             h + "." + payload + ".",
				"payload empty":               h + ".." + sig,
				"padding added":               tok + "==",
				"newline in payload":          h + "." + payload[:8] + "\n" + payload[8:] + "." + sig,
				"last payload bits changed":   h + "." + payload[:len(payload)-1] + flip(payload, len(payload)-1)[len(payload)-1:] + "." + sig,
				"four segments":               tok + ".e30",
				"two segments":                h + "." + payload,
				"payload not base64":          h + ".!!!." + sig,
				"payload of another token":    h + ".e30." + sig,
				"claims not JSON but signed?": h + "." + payload + "x." + sig,
			}
			for name, raw := range cases {
				t.Run(name, func(t *testing.T) { sameJudgement(t, s, raw) })
			}
			if c, ok, err := s.verifyKnownHeader(tok); !ok || err != nil || c.Subject != "user-1" {
				t.Fatalf("the intact token did not take the direct path: %v %v %v", c, ok, err)
			}
		})
	}
}

// TestKnownHeaderFollowsTheKeyring: a known header names a kid, but
// whether that key is still published is read from the keyring each time.
func TestKnownHeaderFollowsTheKeyring(t *testing.T) {
	s, tok := signedForTest(t, keys.EdDSA)
	other := keystest.Ring(t, keys.EdDSA, time.Now()) // a different key only
	s.ring.Store(other.Load())
	_, ok, err := s.verifyKnownHeader(tok)
	if !ok || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "unknown or revoked kid") {
		t.Fatalf("token of a key no longer published: handled %v, err %v", ok, err)
	}
}

// TestOnlyVerifiedPlainHeadersAreLearned: a header is remembered only
// after go-jose has verified a token carrying it.
func TestOnlyVerifiedPlainHeadersAreLearned(t *testing.T) {
	s, tok := signedForTest(t, keys.EdDSA)
	h, rest, _ := strings.Cut(tok, ".")
	payload, _, _ := strings.Cut(rest, ".")
	fresh := newTestService(t, newMemStore(), keys.EdDSA, nil)
	fresh.ring.Store(s.ring.Load())
	if _, err := fresh.verifySignature(h + "." + payload + ".AAAA"); err == nil {
		t.Fatal("forged token accepted")
	}
	if _, known := fresh.headers.get(h); known {
		t.Fatal("a header was learned from a token whose signature failed")
	}
	if _, err := fresh.verifySignature(tok); err != nil {
		t.Fatal(err)
	}
	if _, known := fresh.headers.get(h); !known {
		t.Fatal("the header of a verified token was not learned")
	}
}

// FuzzVerifyKnownHeader: whatever follows a known header, the direct path
// and go-jose judge it alike.
func FuzzVerifyKnownHeader(f *testing.F) {
	s, tok := signedForTest(f, keys.ES256)
	h, rest, _ := strings.Cut(tok, ".")
	f.Add(rest)
	f.Add(rest + "A")
	f.Add(".")
	f.Add("e30.AAAA")
	f.Fuzz(func(t *testing.T, rest string) {
		sameJudgement(t, s, h+"."+rest)
	})
}
