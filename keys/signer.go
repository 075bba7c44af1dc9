package keys

import (
	"crypto/rsa"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/keys/rsasign"
)

// Signer signs with the active key. It is safe for concurrent use.
type Signer struct {
	KID    string
	Alg    Alg
	signer jose.Signer
	// idSigner signs with the same key under typ "JWT": OpenID Connect ID
	// tokens, which must never pass for access tokens (RFC 9068 §4).
	idSigner jose.Signer
}

// Sign signs payload as a compact JWS whose header carries alg, kid and
// typ "at+jwt".
func (s *Signer) Sign(payload []byte) (string, error) {
	obj, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", s.KID, err)
	}
	return obj.CompactSerialize()
}

// SignJWT signs payload as a compact JWS whose header carries alg, kid and
// typ "JWT": the form of an OpenID Connect ID token.
func (s *Signer) SignJWT(payload []byte) (string, error) {
	obj, err := s.idSigner.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", s.KID, err)
	}
	return obj.CompactSerialize()
}

// RSABackend names the backend RS256 keys sign with in this binary
// ("openssl" or "go"; see package rsasign), and RSABackendVersion
// describes it.
func RSABackend() string { return rsasign.Backend() }

// RSABackendVersion describes the RS256 signing backend, e.g. "OpenSSL
// 3.0.19 27 Jan 2026".
func RSABackendVersion() string { return rsasign.BackendVersion() }

// newSigner unseals r's private key into a Signer. An RSA key is loaded
// once into the rsasign backend (libcrypto in a release build), which
// keeps the only copy the process holds and frees it when the snapshot
// holding this Signer is dropped.
func newSigner(r Record, sealer *Sealer) (*Signer, error) {
	priv, err := OpenPrivate(r, sealer)
	if err != nil {
		return nil, fmt.Errorf("active key %s: %w", r.KID, err)
	}
	var signingKey any = priv
	if rk, ok := priv.(*rsa.PrivateKey); ok && r.Alg == RS256 {
		k, err := rsasign.New(rk)
		if err != nil {
			return nil, fmt.Errorf("active key %s: %w", r.KID, err)
		}
		signingKey = rs256Signer{k}
	}
	key := jose.SigningKey{
		Algorithm: jose.SignatureAlgorithm(r.Alg),
		Key:       jose.JSONWebKey{Key: signingKey, KeyID: r.KID, Algorithm: string(r.Alg)},
	}
	js, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("active key %s: %w", r.KID, err)
	}
	ids, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("active key %s: %w", r.KID, err)
	}
	return &Signer{KID: r.KID, Alg: r.Alg, signer: js, idSigner: ids}, nil
}

// rs256Signer lets go-jose sign RS256 through an rsasign.Key.
type rs256Signer struct{ k *rsasign.Key }

func (s rs256Signer) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: s.k.Public(), Algorithm: string(RS256)}
}

func (s rs256Signer) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.RS256} }

func (s rs256Signer) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.RS256 {
		return nil, jose.ErrUnsupportedAlgorithm
	}
	return s.k.SignSHA256(payload)
}
