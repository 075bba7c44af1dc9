package rsasign_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/sigil-auth/sigil/keys/rsasign"
)

// TestNewSignsLikeCryptoRSA holds the backend this build uses to
// crypto/rsa: the same bytes for the same key and message, verifying with
// rsa.VerifyPKCS1v15.
func TestNewSignsLikeCryptoRSA(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k, err := rsasign.New(priv)
	if err != nil {
		t.Fatal(err)
	}
	if k.Backend() != rsasign.Backend() {
		t.Fatalf("New chose %q, Backend says %q", k.Backend(), rsasign.Backend())
	}
	for _, msg := range [][]byte{nil, []byte("e"), []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0")} {
		got, err := k.SignSHA256(msg)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(msg)
		want, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("backend %s: signature of %q differs from crypto/rsa", k.Backend(), msg)
		}
		if err := rsa.VerifyPKCS1v15(k.Public(), crypto.SHA256, sum[:], got); err != nil {
			t.Fatalf("backend %s: %v", k.Backend(), err)
		}
	}
}

func TestNewRefusesShortKeys(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func(*rsa.PrivateKey) (*rsasign.Key, error){"New": rsasign.New, "NewGo": rsasign.NewGo} {
		if _, err := load(priv); err == nil {
			t.Errorf("%s accepted a 1024-bit key", name)
		}
		if _, err := load(nil); err == nil {
			t.Errorf("%s accepted no key", name)
		}
	}
}
