package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

// verifyWithJWKS checks a token the way an outside resource server would:
// with nothing but the JWKS fetched over HTTP and go-jose.
func verifyWithJWKS(t *testing.T, s *server, token string) map[string]any {
	t.Helper()
	st, _, body := s.get(t, "/.well-known/jwks.json")
	if st != http.StatusOK {
		t.Fatalf("jwks: %d", st)
	}
	var set jose.JSONWebKeySet
	decode(t, body, &set)
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.EdDSA, jose.ES256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	hdr := jws.Signatures[0].Header
	ks := set.Key(hdr.KeyID)
	if len(ks) != 1 {
		t.Fatalf("kid %q not in JWKS", hdr.KeyID)
	}
	if ks[0].Algorithm != hdr.Algorithm || ks[0].Use != "sig" || !ks[0].IsPublic() {
		t.Fatalf("JWK %+v does not match header alg %s", ks[0], hdr.Algorithm)
	}
	payload, err := jws.Verify(ks[0])
	if err != nil {
		t.Fatalf("signature does not verify with the published key: %v", err)
	}
	var claims map[string]any
	decode(t, payload, &claims)
	return claims
}

func TestSignupLoginMeAndVerifyFromJWKS(t *testing.T) {
	for _, alg := range []string{"RS256", "EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				s := startServer(t, testEnv(dbURL, map[string]string{"SIGIL_SIGNING_ALG": alg}))
				st, h, body := s.postJSON(t, "/auth/signup", map[string]string{"email": "  Ada@Example.COM ", "password": "correct horse battery", "name": "Ada"})
				if st != http.StatusCreated || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
					t.Fatalf("signup: %d %s", st, body)
				}
				var su struct{ UserID string }
				decode(t, body, &su)

				lr := s.login(t, "ada@example.com", "correct horse battery")
				if lr.TokenType != "Bearer" || lr.ExpiresIn != 900 || lr.RefreshToken == "" || lr.UserID != su.UserID {
					t.Fatalf("login answer %+v", lr)
				}

				hdr := tokenHeader(t, lr.Token)
				if hdr["alg"] != alg || hdr["typ"] != "at+jwt" || hdr["kid"] == "" || len(hdr) != 3 {
					t.Fatalf("header = %v", hdr)
				}
				claims := verifyWithJWKS(t, s, lr.Token)
				// sid names the session (refresh-token family) the token
				// belongs to, as GET /auth/sessions lists it; amr says how
				// the user signed in (RFC 8176).
				want := []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "email", "roles", "sid", "amr"}
				if len(claims) != len(want) {
					t.Fatalf("claims = %v, want exactly %v", claims, want)
				}
				for _, k := range want {
					if _, ok := claims[k]; !ok {
						t.Fatalf("claim %s missing from %v", k, claims)
					}
				}
				if claims["iss"] != s.Issuer || claims["sub"] != su.UserID || claims["aud"] != "sigil" || claims["email"] != "ada@example.com" {
					t.Fatalf("claims = %v", claims)
				}
				if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 900 {
					t.Fatalf("exp-iat = %v", exp-iat)
				}

				st, h, body = s.get(t, "/auth/me", bearer(lr.Token)...)
				if st != http.StatusOK || h.Get("Cache-Control") != "no-store" {
					t.Fatalf("me: %d %s", st, body)
				}
				var me struct {
					UserID, Email, Name string
					Roles               []string
				}
				decode(t, body, &me)
				if me.UserID != su.UserID || me.Email != "ada@example.com" || me.Name != "Ada" || me.Roles == nil || len(me.Roles) != 0 {
					t.Fatalf("me = %+v (%s)", me, body)
				}

				st, _, body = s.get(t, "/.well-known/openid-configuration")
				var disc map[string]any
				decode(t, body, &disc)
				if st != 200 || disc["issuer"] != s.Issuer || disc["jwks_uri"] != s.Issuer+"/.well-known/jwks.json" || disc["token_endpoint"] != s.Issuer+"/oauth2/token" {
					t.Fatalf("discovery: %d %v", st, disc)
				}
				for _, f := range []string{"revocation_endpoint", "introspection_endpoint", "grant_types_supported", "token_endpoint_auth_methods_supported", "id_token_signing_alg_values_supported", "response_types_supported", "subject_types_supported"} {
					if _, ok := disc[f]; !ok {
						t.Fatalf("discovery lacks %s", f)
					}
				}
			})
		})
	}
}

func tokenHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	decode(t, b, &h)
	return h
}

func TestJWKSCachingHeaders(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), map[string]string{"SIGIL_JWKS_MAX_AGE": "2m", "SIGIL_PUBLISH_AHEAD": "3m"}))
	st, h, body := s.get(t, "/.well-known/jwks.json")
	if st != 200 || h.Get("Cache-Control") != "public, max-age=120" || h.Get("ETag") == "" {
		t.Fatalf("jwks: %d %v", st, h)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	decode(t, body, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("keys = %v", set.Keys)
	}
	for _, f := range []string{"kty", "kid", "use", "alg"} {
		if set.Keys[0][f] == nil {
			t.Fatalf("JWK lacks %s", f)
		}
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := set.Keys[0][private]; ok {
			t.Fatalf("JWKS publishes private member %q", private)
		}
	}
	st, _, body = s.get(t, "/.well-known/jwks.json", "If-None-Match", h.Get("ETag"))
	if st != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("matching If-None-Match: %d %q", st, body)
	}
	if st, _, _ = s.get(t, "/.well-known/jwks.json", "If-None-Match", `"other"`); st != 200 {
		t.Fatalf("other ETag: %d", st)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		if st, _, _ := s.get(t, "/healthz"); st != 200 {
			t.Fatalf("healthz %d", st)
		}
		if st, _, body := s.get(t, "/readyz"); st != 200 {
			t.Fatalf("readyz %d %s", st, body)
		}
	})
}

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

// No private key material is stored in clear: not in the signing-key rows,
// not anywhere in the SQLite file or its write-ahead log.
func TestNoPrivateKeyInClear(t *testing.T) {
	for _, alg := range []string{"RS256", "EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				env := testEnv(dbURL, map[string]string{"SIGIL_SIGNING_ALG": alg})
				s := startServer(t, env)
				s.signupLogin(t, "k@example.com", "password123")
				priv, _ := activePrivateKey(t, env)
				secrets := privateMaterial(t, priv)

				ctx := context.Background()
				db, err := store.Open(ctx, dbURL)
				if err != nil {
					t.Fatal(err)
				}
				recs, err := db.ListKeys(ctx)
				db.Close()
				if err != nil || len(recs) == 0 {
					t.Fatalf("keys: %v %v", recs, err)
				}
				var rows bytes.Buffer
				for _, r := range recs {
					rows.WriteString(r.Sealed)
					rows.Write(r.PublicJWK)
					if bytes.Contains(r.PublicJWK, []byte(`"d"`)) {
						t.Fatalf("public JWK of %s has a d member", r.KID)
					}
				}
				haystacks := map[string][]byte{"signing_keys rows": rows.Bytes()}
				if path := store.SQLitePath(dbURL); path != "" {
					s.stop()
					for _, f := range []string{path, path + "-wal"} {
						if b, err := os.ReadFile(f); err == nil {
							haystacks[filepath.Base(f)] = b
						}
					}
				}
				for where, hay := range haystacks {
					for what, needle := range secrets {
						if bytes.Contains(hay, needle) {
							t.Errorf("%s contains %s in clear", where, what)
						}
					}
					if bytes.Contains(hay, []byte("PRIVATE KEY")) {
						t.Errorf("%s contains a PEM private key header", where)
					}
				}
			})
		})
	}
}

// privateMaterial lists encodings of a private key a careless store might
// write: DER, PEM body, the raw secret scalar and its JWK "d" form.
func privateMaterial(t *testing.T, priv crypto.Signer) map[string][]byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemBody := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	lines := strings.Split(string(pemBody), "\n")
	out := map[string][]byte{"PKCS#8 DER": der, "PEM line": []byte(lines[2])}
	var d []byte
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		d = k.D.Bytes()
	case *ecdsa.PrivateKey:
		d, _ = k.Bytes()
	case ed25519.PrivateKey:
		d = k.Seed()
	}
	out["raw secret"] = d
	out["JWK d"] = []byte(base64.RawURLEncoding.EncodeToString(d))
	out["base64 secret"] = []byte(base64.StdEncoding.EncodeToString(d)[:20])
	return out
}

func TestRestartKeepsKeysAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		env := testEnv(dbURL, nil)
		s := startServer(t, env)
		lr := s.signupLogin(t, "r@example.com", "password123")
		_, _, jwks1 := s.get(t, "/.well-known/jwks.json")
		s.stop()

		s2 := startServer(t, env)
		_, _, jwks2 := s2.get(t, "/.well-known/jwks.json")
		if !bytes.Equal(jwks1, jwks2) {
			t.Fatalf("JWKS changed across restart:\n%s\n%s", jwks1, jwks2)
		}
		if st, _, body := s2.get(t, "/auth/me", bearer(lr.Token)...); st != 200 {
			t.Fatalf("token from before the restart: %d %s", st, body)
		}
	})
}

func countRows(t *testing.T, dbURL, table string) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.CountRows(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Every malformed request gets its status and a problem+json body, and
// writes no row.
func TestBadInputIsRefusedWithProblems(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		s.signupLogin(t, "taken@example.com", "password123")
		users := countRows(t, dbURL, "users")
		refresh := countRows(t, dbURL, "refresh_tokens")

		long := strings.Repeat("a", 1025)
		cases := []struct {
			name, path, ctype, body string
			status                  int
			field                   string
		}{
			{"no content type", "/auth/signup", "", `{"email":"a@example.com","password":"password123"}`, 415, ""},
			{"form content type", "/auth/signup", "application/x-www-form-urlencoded", `email=a@example.com`, 415, ""},
			{"malformed JSON", "/auth/signup", "application/json", `{"email":`, 400, ""},
			{"not an object", "/auth/signup", "application/json", `["a"]`, 400, ""},
			{"trailing data", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123"} {}`, 400, ""},
			{"duplicate key", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","password":"x"}`, 400, ""},
			{"invalid UTF-8", "/auth/signup", "application/json", "{\"email\":\"a\xff@example.com\",\"password\":\"password123\"}", 400, ""},
			{"wrong type", "/auth/signup", "application/json", `{"email":42,"password":"password123"}`, 422, "email"},
			{"unknown field", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","admin":true}`, 422, "admin"},
			{"missing email", "/auth/signup", "application/json", `{"password":"password123"}`, 422, "email"},
			{"malformed email", "/auth/signup", "application/json", `{"email":"not-an-email","password":"password123"}`, 422, "email"},
			{"email with NUL", "/auth/signup", "application/json", `{"email":"a\u0000@example.com","password":"password123"}`, 422, "email"},
			{"short password", "/auth/signup", "application/json", `{"email":"a@example.com","password":"1234567"}`, 422, "password"},
			{"long password", "/auth/signup", "application/json", `{"email":"a@example.com","password":"` + long + `"}`, 422, "password"},
			{"long name", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","name":"` + strings.Repeat("n", 201) + `"}`, 422, "name"},
			{"email taken (case differs)", "/auth/signup", "application/json", `{"email":"TAKEN@example.com","password":"password123"}`, 409, ""},
			{"body over 64 KiB", "/auth/signup", "application/json", `{"email":"a@example.com","password":"password123","name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
			{"login missing password", "/auth/login", "application/json", `{"email":"taken@example.com"}`, 422, "password"},
			{"login malformed", "/auth/login", "application/json", `{`, 400, ""},
			{"login wrong content type", "/auth/login", "text/plain", `{}`, 415, ""},
		}
		for _, c := range cases {
			st, h, body := do(t, http.MethodPost, s.Base+c.path, c.ctype, c.body)
			var p struct {
				Type, Title, Detail, Field string
				Status                     int
			}
			if st != c.status || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: got %d %s %s, want %d problem+json", c.name, st, h.Get("Content-Type"), body, c.status)
				continue
			}
			decode(t, body, &p)
			if p.Status != c.status || p.Type == "" || p.Title == "" || p.Field != c.field {
				t.Errorf("%s: problem %+v, want status %d field %q", c.name, p, c.status, c.field)
			}
		}
		if n := countRows(t, dbURL, "users"); n != users {
			t.Errorf("bad input wrote users: %d → %d", users, n)
		}
		if n := countRows(t, dbURL, "refresh_tokens"); n != refresh {
			t.Errorf("bad input wrote refresh tokens: %d → %d", refresh, n)
		}
		if st, _, _ := do(t, http.MethodGet, s.Base+"/auth/login", "", ""); st != 405 {
			t.Errorf("GET /auth/login: %d, want 405", st)
		}
	})
}

// An unknown email and a wrong password get the same answer.
func TestLoginDoesNotRevealWhichEmailsExist(t *testing.T) {
	s := startServer(t, testEnv(storetest.SQLiteURL(t), nil))
	s.signupLogin(t, "known@example.com", "password123")
	strip := func(b []byte) string {
		var m map[string]any
		decode(t, b, &m)
		delete(m, "requestId")
		out, _ := json.Marshal(m)
		return string(out)
	}
	st1, _, b1 := s.postJSON(t, "/auth/login", map[string]string{"email": "known@example.com", "password": "wrong-password"})
	st2, _, b2 := s.postJSON(t, "/auth/login", map[string]string{"email": "nobody@example.com", "password": "wrong-password"})
	if st1 != 401 || st2 != 401 || strip(b1) != strip(b2) {
		t.Fatalf("wrong password: %d %s\nunknown email: %d %s", st1, b1, st2, b2)
	}
}

// The production argon2id parameters (no override) hash and verify, and
// the stored hash is a PHC string with m=19456,t=2,p=1.
func TestProductionArgon2Parameters(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, nil)
	delete(env, "SIGIL_ARGON2_MEMORY")
	delete(env, "SIGIL_ARGON2_TIME")
	s := startServer(t, env)
	lr := s.signupLogin(t, "prod@example.com", "production password")
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByID(context.Background(), lr.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("stored hash %q is not argon2id at the production cost", u.PasswordHash)
	}
	if strings.Contains(u.PasswordHash, "production password") {
		t.Fatal("password stored in clear")
	}
}

// A user migrated with a bcrypt hash logs in, and the hash becomes argon2id.
func TestBcryptHashVerifiesAndIsUpgraded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		s := startServer(t, testEnv(dbURL, nil))
		ctx := context.Background()
		db, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for i, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
			h, _ := bcrypt.GenerateFromPassword([]byte("node password"), bcrypt.MinCost)
			hash := prefix + string(h[4:])
			email := "legacy" + string(rune('a'+i)) + "@example.com"
			now := time.Now()
			if err := db.CreateUser(ctx, authority.User{ID: "legacy-" + prefix, Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if st, _, _ := s.postJSON(t, "/auth/login", map[string]string{"email": email, "password": "wrong password"}); st != 401 {
				t.Fatalf("%s wrong password: %d", prefix, st)
			}
			s.login(t, email, "node password")
			u, _ := db.UserByEmail(ctx, email)
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
				t.Fatalf("%s hash not upgraded: %s", prefix, u.PasswordHash)
			}
			s.login(t, email, "node password")
		}
	})
}

func TestPostgresRequiresKeyEncryptionKey(t *testing.T) {
	env := testEnv(storetest.DefaultPostgresURL, nil)
	delete(env, "SIGIL_KEY_ENCRYPTION_KEY")
	_, _, err := runCLI(t, env, "", "serve")
	if err == nil || !strings.Contains(err.Error(), "SIGIL_KEY_ENCRYPTION_KEY is required") {
		t.Fatalf("got %v", err)
	}
}

func TestSQLiteGeneratesPrivateKEKFile(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	s := startServer(t, testEnv(dbURL, nil))
	info, err := os.Stat(store.SQLitePath(dbURL) + ".kek")
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("kek file mode %v, want 0600", info.Mode().Perm())
	}
	s.stop()
	if !strings.Contains(s.stderr.String(), "generated one into") {
		t.Fatalf("no warning about the generated key:\n%s", s.stderr.String())
	}
}

func TestBadConfigurationStopsWithOneLine(t *testing.T) {
	cases := map[string]string{
		"SIGIL_ACCESS_TOKEN_TTL":   "soon",
		"SIGIL_SIGNING_ALG":        "HS256",
		"SIGIL_DATABASE_URL":       "mysql://x",
		"SIGIL_RATE_LIMIT":         "fast",
		"SIGIL_KEY_ENCRYPTION_KEY": "short",
		"SIGIL_AUDIT_RETENTION":    "-3d",
		"SIGIL_PRUNE_INTERVAL":     "10ms",
	}
	for name, val := range cases {
		env := testEnv(storetest.SQLiteURL(t), map[string]string{name: val})
		_, _, err := runCLI(t, env, "", "serve")
		if err == nil || !strings.HasPrefix(err.Error(), name) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%s: got %v, want one line naming the variable", name, val, err)
		}
	}
}

func TestUsersCreateCommand(t *testing.T) {
	dbURL := storetest.SQLiteURL(t)
	env := testEnv(dbURL, nil)
	if _, _, err := runCLI(t, env, "", "migrate"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, env, "admin password\n", "users", "create", "--email", "Root@Example.com", "--admin", "--password-stdin")
	if err != nil || !strings.Contains(out, "created administrator root@example.com") {
		t.Fatalf("users create: %q %v", out, err)
	}
	if _, _, err := runCLI(t, env, "short\n", "users", "create", "--email", "x@example.com", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("short password: %v", err)
	}
	if _, _, err := runCLI(t, env, "admin password\n", "users", "create", "--email", "root@example.com", "--password-stdin"); err == nil {
		t.Fatal("duplicate email accepted")
	}
	s := startServer(t, env)
	lr := s.login(t, "root@example.com", "admin password")
	_, _, body := s.get(t, "/auth/me", bearer(lr.Token)...)
	if !strings.Contains(string(body), `"roles":["admin"]`) {
		t.Fatalf("admin me = %s", body)
	}
}

// `sigil --help` lists every command and every configuration variable.
func TestHelpDescribesEverything(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		out, _, err := runCLI(t, map[string]string{}, "", arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, want := range []string{"serve", "migrate", "keys", "users", "clients", "SIGIL_DATABASE_URL", "SIGIL_KEY_ENCRYPTION_KEY", "SIGIL_ROTATION_PERIOD", "SIGIL_CORS_ORIGINS"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %s:\n%s", arg, want, out)
			}
		}
	}
}
