package verify_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/verify"
)

// The fuzz target verifies against a fixed key, issuer and time, so the
// checked-in corpus under testdata/fuzz/FuzzVerify holds a token that
// verifies, and mutations of it reach every check.
const (
	fuzzIssuer = "https://sigil.example"
	fuzzKid    = "fuzz-key"
)

var fuzzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fuzzKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
}

func FuzzVerify(f *testing.F) {
	key := fuzzKey()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: key.Public(), KeyID: fuzzKid, Algorithm: string(jose.EdDSA), Use: "sig",
	}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	v, err := verify.NewFromJWKS(srv.URL, fuzzIssuer,
		verify.WithAudience("sigil"),
		verify.WithClock(func() time.Time { return fuzzNow }),
		verify.WithLogger(quiet))
	if err != nil {
		f.Fatal(err)
	}

	claims := map[string]any{
		"iss": fuzzIssuer, "sub": "user-1", "aud": "sigil", "client_id": "web",
		"iat": fuzzNow.Unix(), "nbf": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix(),
		"jti": "j", "scope": "a b", "roles": []string{"admin"},
	}
	valid := signToken(f, jose.EdDSA, key, fuzzKid, "at+jwt", claims)
	if _, err := v.Verify(f.Context(), valid); err != nil {
		f.Fatalf("seed token does not verify: %v", err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add("")
	f.Add("...")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("eyJhbGciOiJFZERTQSIsImtpZCI6ImZ1enota2V5IiwidHlwIjoiYXQrand0In0.bnVsbA.AA")

	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(t.Context(), token)
		if (c == nil) == (err == nil) {
			t.Fatalf("Verify returned claims %v and error %v", c, err)
		}
		if err == nil && (c.Issuer != fuzzIssuer || c.Subject == "" || c.Expiry.Before(fuzzNow.Add(-time.Minute))) {
			t.Fatalf("Verify accepted claims %+v", c)
		}
	})
}
