package keys

import (
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/keys/rsasign"
)

// TestRS256SignerMatchesGoJose: a snapshot's RS256 signer (the rsasign
// backend of this build, libcrypto with the openssl tag) produces exactly
// the compact JWS go-jose produces with crypto/rsa and the same key, for
// access tokens and ID tokens, and the public JWK verifies it.
func TestRS256SignerMatchesGoJose(t *testing.T) {
	s := mustSealer(t, kekA)
	r, err := NewRecord(RS256, s, testTime)
	if err != nil {
		t.Fatal(err)
	}
	r.State = Active
	snap, err := Build([]Record{r}, s, testTime)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := OpenPrivate(r, s)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := snap.Key(r.KID)
	if !ok {
		t.Fatal("active key not published")
	}
	for _, typ := range []string{"at+jwt", "JWT"} {
		ref, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
			Key: jose.JSONWebKey{Key: priv.(*rsa.PrivateKey), KeyID: r.KID, Algorithm: "RS256"}},
			(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
		if err != nil {
			t.Fatal(err)
		}
		for _, payload := range []string{`{}`, `{"sub":"client-1","aud":"api","exp":1767225600}`, strings.Repeat(`{"x":"é"}`, 200)} {
			sign := snap.Active().Sign
			if typ == "JWT" {
				sign = snap.Active().SignJWT
			}
			got, err := sign([]byte(payload))
			if err != nil {
				t.Fatalf("%s backend: %v", rsasign.Backend(), err)
			}
			obj, err := ref.Sign([]byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := obj.CompactSerialize()
			if got != want {
				t.Fatalf("typ %s, %s backend:\n got %s\nwant %s", typ, rsasign.Backend(), got, want)
			}
			jws, err := jose.ParseSignedCompact(got, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			if out, err := jws.Verify(pub); err != nil || string(out) != payload {
				t.Fatalf("published key does not verify the token: %v", err)
			}
			if h := jws.Signatures[0].Protected; h.KeyID != r.KID || h.ExtraHeaders["typ"] != typ {
				t.Fatalf("header %+v", h)
			}
		}
	}
}
