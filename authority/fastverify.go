package authority

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// knownHeaders remembers the protected-header segments of tokens that
// go-jose has parsed and whose signatures it has verified: Sigil signs
// every token of a key with the same header, so almost every token
// verified carries one of a handful of segments. A token whose header
// segment is known skips go-jose's parsing (a third of a verification in
// a CPU profile of /auth/me: the header decoded with reflection, the
// input split and re-encoded) and is verified directly with the key: the
// same checks, in the same order, with the same errors, because the header
// bytes are the very ones go-jose accepted. A token whose header is not
// known takes go-jose's path, which alone adds headers.
//
// Only headers of exactly alg, kid and typ are remembered (none with crit,
// b64 or an embedded key), so the signing input is always the two
// segments as go-jose rebuilds them. A header names a kid and an alg only:
// whether that kid is still published, and its alg, is read from the
// current keyring snapshot on every call. Only a validly signed token adds
// a header, so the set stays as small as the number of keys; it is emptied
// if it ever reaches knownHeadersMax.
type knownHeaders struct {
	mu sync.RWMutex
	m  map[string]knownHeader
}

type knownHeader struct {
	kid string
	alg string
	// signed is the segment as go-jose re-encodes it for the signing
	// input (the canonical base64url of the decoded header).
	signed string
}

const knownHeadersMax = 64

func (k *knownHeaders) get(seg string) (knownHeader, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	h, ok := k.m[seg]
	return h, ok
}

// learn records the header segment of raw, a token go-jose has just
// verified with header h, if it is one the direct path can take.
func (k *knownHeaders) learn(raw string, h jose.Header) {
	seg, _, _ := strings.Cut(raw, ".")
	if _, ok := k.get(seg); ok {
		return
	}
	decoded, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(decoded, &fields); err != nil || len(fields) != 3 {
		return
	}
	for _, name := range []string{"alg", "kid", "typ"} {
		if _, ok := fields[name]; !ok {
			return
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) >= knownHeadersMax {
		k.m = make(map[string]knownHeader)
	}
	k.m[seg] = knownHeader{kid: h.KeyID, alg: h.Algorithm, signed: base64.RawURLEncoding.EncodeToString(decoded)}
}

// verifyKnownHeader verifies raw directly if its header segment is known.
// It reports false when it is not, or when the token is not well-formed compact
// serialisation: go-jose then decides.
func (s *Service) verifyKnownHeader(raw string) (*Claims, bool, error) {
	seg, rest, ok1 := strings.Cut(raw, ".")
	payloadSeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sigSeg, '.') >= 0 {
		return nil, false, nil
	}
	h, known := s.headers.get(seg)
	if !known {
		return nil, false, nil
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(payloadSeg)
	sig, err2 := base64.RawURLEncoding.DecodeString(sigSeg)
	if err1 != nil || err2 != nil {
		return nil, false, nil
	}
	// From here on, exactly what verifyJOSE does after parsing.
	key, err := s.publishedKey(h.kid, h.alg)
	if err != nil {
		return nil, true, err
	}
	input := make([]byte, 0, len(h.signed)+1+base64.RawURLEncoding.EncodedLen(len(payload)))
	input = append(input, h.signed...)
	input = append(input, '.')
	input = base64.RawURLEncoding.AppendEncode(input, payload)
	if !verifyJWS(key.Key, jose.SignatureAlgorithm(h.alg), input, sig) {
		return nil, true, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	var claims Claims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, true, fmt.Errorf("%w: malformed claims", ErrInvalidToken)
	}
	claims.KID = h.kid
	return &claims, true, nil
}

// verifyJWS checks sig over input as go-jose's verifiers do for the three
// algorithms Sigil signs with; any other key or alg fails.
func verifyJWS(key any, alg jose.SignatureAlgorithm, input, sig []byte) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg != jose.RS256 {
			return false
		}
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case ed25519.PublicKey:
		return alg == jose.EdDSA && len(k) == ed25519.PublicKeySize && ed25519.Verify(k, input, sig)
	case *ecdsa.PublicKey:
		if alg != jose.ES256 || k.Curve != elliptic.P256() || len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, sum[:], r, s)
	}
	return false
}
