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
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/store"
	"github.com/sigil-auth/sigil/store/storetest"
)

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
