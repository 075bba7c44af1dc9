package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Alg is a JWS signature algorithm Sigil signs with.
type Alg string

// The algorithms Sigil supports.
const (
	RS256 Alg = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys
	EdDSA Alg = "EdDSA" // Ed25519
	ES256 Alg = "ES256" // ECDSA on P-256 with SHA-256
)

// Algs lists every supported algorithm.
var Algs = []Alg{RS256, EdDSA, ES256}

// ParseAlg returns the Alg named s, or an error naming the accepted values.
func ParseAlg(s string) (Alg, error) {
	for _, a := range Algs {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("unsupported signing algorithm %q (use RS256, EdDSA or ES256)", s)
}

// State is where a key is in its lifecycle.
type State string

// Key states. Pending, active and retired keys are published in the JWKS;
// revoked keys and retired keys past their retention are not.
const (
	Pending State = "pending"
	Active  State = "active"
	Retired State = "retired"
	Revoked State = "revoked"
)

// Record is a signing key as it is stored. Sealed is empty once the private
// key has been destroyed (after retirement or revocation).
type Record struct {
	KID         string
	Alg         Alg
	State       State
	PublicJWK   []byte // JSON of the public JWK (kty, kid, use, alg, …)
	Sealed      string // the private key, sealed by a Sealer; "" once destroyed
	CreatedAt   time.Time
	ActivatedAt time.Time // zero until active
	RetiredAt   time.Time // zero until retired
	RevokedAt   time.Time // zero unless revoked
	ExpiresAt   time.Time // when a retired key leaves the JWKS; zero otherwise
}

// Published reports whether the key belongs in the JWKS at time now. A
// retired key stays up to and including ExpiresAt: a token signed at the
// moment of retirement is still accepted at exactly exp + Leeway. A
// pending key withdrawn before it ever signed (retired, never activated)
// has nothing to verify and leaves at once.
func (r Record) Published(now time.Time) bool {
	switch r.State {
	case Pending, Active:
		return true
	case Retired:
		if r.ActivatedAt.IsZero() {
			return false
		}
		return r.ExpiresAt.IsZero() || !now.After(r.ExpiresAt)
	}
	return false
}

// Generate creates a key pair for alg: RSA-2048, Ed25519 or P-256.
func Generate(alg Alg) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// NewRecord generates a key of alg, gives it a random kid and returns it as a
// pending Record whose private half is sealed by s.
func NewRecord(alg Alg, s *Sealer, now time.Time) (Record, error) {
	priv, err := Generate(alg)
	if err != nil {
		return Record{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	kid, err := newKID()
	if err != nil {
		return Record{}, err
	}
	pub, err := PublicJWK(kid, alg, priv.Public())
	if err != nil {
		return Record{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Record{}, fmt.Errorf("encode key %s: %w", kid, err)
	}
	sealed, err := s.Seal(kid, der)
	clear(der)
	if err != nil {
		return Record{}, err
	}
	return Record{KID: kid, Alg: alg, State: Pending, PublicJWK: pub, Sealed: sealed, CreatedAt: now}, nil
}

// PublicJWK encodes a public key as a JWK with kid, use "sig" and alg.
func PublicJWK(kid string, alg Alg, pub crypto.PublicKey) ([]byte, error) {
	jwk := jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"}
	if !jwk.IsPublic() {
		return nil, fmt.Errorf("key %s: refusing to encode a private key as a public JWK", kid)
	}
	b, err := jwk.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode public key %s: %w", kid, err)
	}
	return b, nil
}

// OpenPrivate unseals the private key of r.
func OpenPrivate(r Record, s *Sealer) (crypto.Signer, error) {
	if r.Sealed == "" {
		return nil, fmt.Errorf("key %s: private key has been destroyed", r.KID)
	}
	der, err := s.Open(r.KID, r.Sealed)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("key %s: decode private key: %w", r.KID, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s: stored key cannot sign", r.KID)
	}
	return signer, nil
}

// ParsePublic decodes the public JWK of r and checks it names r's kid and alg.
func ParsePublic(r Record) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(r.PublicJWK, &jwk); err != nil {
		return jwk, fmt.Errorf("key %s: decode public JWK: %w", r.KID, err)
	}
	if jwk.KeyID != r.KID || jwk.Algorithm != string(r.Alg) || !jwk.IsPublic() {
		return jwk, fmt.Errorf("key %s: public JWK does not match its record", r.KID)
	}
	return jwk, nil
}

// newKID returns 96 random bits in base64url. It never starts with '-' or
// '_', so a kid passed on the command line (`sigil keys revoke KID`) is
// never taken for a flag.
func newKID() (string, error) {
	b := make([]byte, 12)
	for {
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("generate kid: %w", err)
		}
		if kid := base64.RawURLEncoding.EncodeToString(b); kid[0] != '-' && kid[0] != '_' {
			return kid, nil
		}
	}
}
