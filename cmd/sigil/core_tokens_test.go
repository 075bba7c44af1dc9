package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// A token that is valid in every way but one is refused by /auth/me.
func TestRejectedTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		s := startServer(t, env)
		lr := s.signupLogin(t, "eve@example.com", "password123")
		priv, kid := activePrivateKey(t, env)

		base := func() map[string]any {
			now := time.Now().Unix()
			return map[string]any{"iss": s.Issuer, "sub": lr.UserID, "aud": "sigil", "exp": now + 600, "iat": now, "nbf": now,
				"jti": "j1", "client_id": "sigil", "scope": "", "email": "eve@example.com", "roles": []string{"admin"}}
		}
		if st, _, body := s.get(t, "/auth/me", bearer(signRaw(t, priv, kid, "RS256", base()))...); st != 200 {
			t.Fatalf("control token refused: %d %s", st, body)
		}

		parts := strings.Split(lr.Token, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload[len(payload)/2] ^= 0x01
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

		noneHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + kid + `","typ":"at+jwt"}`))
		algNone := noneHdr + "." + parts[1] + "."

		// HS256 keyed with the published public key: the classic alg confusion.
		_, _, jwksBody := s.get(t, "/.well-known/jwks.json")
		hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jwksBody}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		confused := sign(t, hs, base())

		foreign, _ := keys.Generate(keys.RS256)
		expired := base()
		expired["exp"] = time.Now().Add(-2 * time.Minute).Unix()
		future := base()
		future["nbf"] = time.Now().Add(5 * time.Minute).Unix()
		wrongIss := base()
		wrongIss["iss"] = "http://evil.test"
		wrongAud := base()
		wrongAud["aud"] = "other-api"
		noTyp := signRawOpts(t, priv, kid, "RS256", base(), &jose.SignerOptions{})

		cases := map[string]string{
			"changed payload byte":     tampered,
			"alg none":                 algNone,
			"HS256 with public key":    confused,
			"expired beyond leeway":    signRaw(t, priv, kid, "RS256", expired),
			"not yet valid":            signRaw(t, priv, kid, "RS256", future),
			"foreign key claiming kid": signRaw(t, foreign, kid, "RS256", base()),
			"unknown kid":              signRaw(t, priv, "no-such-kid", "RS256", base()),
			"wrong issuer":             signRaw(t, priv, kid, "RS256", wrongIss),
			"wrong audience":           signRaw(t, priv, kid, "RS256", wrongAud),
			"missing typ":              noTyp,
			"garbage":                  "not.a.token",
			"empty":                    "",
			"two tokens":               lr.Token + " " + lr.Token,
		}
		for name, tok := range cases {
			st, h, body := s.get(t, "/auth/me", bearer(tok)...)
			if st != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: got %d %q %s, want 401 with WWW-Authenticate", name, st, h.Get("WWW-Authenticate"), body)
			}
		}
		if st, h, _ := s.get(t, "/auth/me"); st != 401 || h.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("no token: %d %q", st, h.Get("WWW-Authenticate"))
		}
	})
}

// activePrivateKey unseals the active key straight from the database, as
// only a test that knows the key-encryption key can.
func activePrivateKey(t *testing.T, env map[string]string) (crypto.Signer, string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, env["SIGIL_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sealer := testSealer(t, env)
	recs, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.State == keys.Active {
			priv, err := keys.OpenPrivate(r, sealer)
			if err != nil {
				t.Fatal(err)
			}
			return priv, r.KID
		}
	}
	t.Fatal("no active key")
	return nil, ""
}

func testSealer(t *testing.T, env map[string]string) *keys.Sealer {
	t.Helper()
	spec := env["SIGIL_KEY_ENCRYPTION_KEY"]
	if spec == "" {
		b, err := os.ReadFile(store.SQLitePath(env["SIGIL_DATABASE_URL"]) + ".kek")
		if err != nil {
			t.Fatal(err)
		}
		spec = strings.TrimSpace(string(b))
	}
	s, err := keys.ParseKEKs(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signRaw(t *testing.T, priv crypto.Signer, kid, alg string, claims map[string]any) string {
	return signRawOpts(t, priv, kid, alg, claims, (&jose.SignerOptions{}).WithType("at+jwt"))
}

func signRawOpts(t *testing.T, priv crypto.Signer, kid, alg string, claims map[string]any, opts *jose.SignerOptions) string {
	t.Helper()
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, sg, claims)
}

func sign(t *testing.T, sg jose.Signer, claims map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(claims)
	obj, err := sg.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
