package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// maxTokenSize bounds the compact tokens that Verify looks at.
const maxTokenSize = 16 << 10

// A Verifier checks access tokens of one issuer against the issuer's
// published keys. It caches the key set in memory and refreshes it as the
// JWKS answer's Cache-Control allows, or sooner when a token names a key it
// has not seen. A Verifier is safe for concurrent use.
type Verifier struct {
	cfg     config
	issuer  string
	jwksURL string
	// metadataURL is where the resource's RFC 9728 metadata is served;
	// "" without WithResource.
	metadataURL string

	keys atomic.Pointer[keySet]

	// lastHeader remembers the most recently decoded protected header.
	// Tokens signed with one key share the same header bytes, so this
	// saves decoding it again for nearly every token.
	lastHeader atomic.Pointer[decodedHeader]

	mu                  sync.Mutex
	inflight            *fetch    // the key set request in flight, or nil
	lastUnknownKidFetch time.Time // when an unknown kid last caused a fetch
	failures            int       // failed refreshes since the last success
	lastFailureLog      time.Time // when a failed refresh was last logged
}

// New returns a Verifier for the tokens of issuerURL. It reads the issuer's
// OpenID discovery document (issuerURL + "/.well-known/openid-configuration")
// to find the JWKS, checks that the document names the same issuer, and
// fetches the key set once, so that a wrong configuration or an unreachable
// authority fails here rather than at the first request.
func New(ctx context.Context, issuerURL string, opts ...Option) (*Verifier, error) {
	cfg, err := newConfig(issuerURL, opts)
	if err != nil {
		return nil, err
	}
	jwksURL, err := discover(ctx, cfg.client, issuerURL)
	if err != nil {
		return nil, err
	}
	v, err := newVerifier(cfg, jwksURL, issuerURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if err := v.fetchKeys(ctx); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return v, nil
}

// NewFromJWKS returns a Verifier for the tokens of issuer whose keys are
// published at jwksURL, without discovery. It does not contact the
// authority: the key set is fetched when the first token is verified.
func NewFromJWKS(jwksURL, issuer string, opts ...Option) (*Verifier, error) {
	cfg, err := newConfig(issuer, opts)
	if err != nil {
		return nil, err
	}
	return newVerifier(cfg, jwksURL, issuer)
}

func newVerifier(cfg config, jwksURL, issuer string) (*Verifier, error) {
	u, err := url.Parse(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("verify: JWKS URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("verify: JWKS URL %q is not an absolute http(s) URL", jwksURL)
	}
	v := &Verifier{cfg: cfg, issuer: issuer, jwksURL: jwksURL}
	if cfg.resource != "" {
		if v.metadataURL, err = checkResource(cfg.resource); err != nil {
			return nil, err
		}
	}
	v.keys.Store(&keySet{})
	return v, nil
}

// header holds the JOSE header parameters read before the signature is
// checked. They decide which key and algorithm apply, and nothing else.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// decodedHeader is a protected header segment and what it decodes to.
type decodedHeader struct {
	segment string
	header  header
}

// Verify checks a compact JWS access token and returns its claims.
//
// The token must carry a kid naming a published key; the only algorithm
// accepted is the one that key is published for, so a token cannot choose
// its own (none and HMAC algorithms never verify). The header typ must be
// at+jwt (RFC 9068). iss must equal the issuer, exp must be present, and
// exp, nbf and iat are checked with the configured leeway; aud, scopes and
// roles are checked as configured.
//
// ctx bounds how long Verify waits when it has to refresh the key set; the
// refresh itself goes on for other callers.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*Claims, error) {
	if rawToken == "" {
		return nil, ErrMissingToken
	}
	if len(rawToken) > maxTokenSize {
		return nil, invalid("token too large")
	}
	h, err := v.header(rawToken)
	if err != nil {
		return nil, err
	}
	switch {
	case h.Kid == "":
		return nil, invalid("token has no kid")
	case !supportedAlgorithm(h.Alg):
		return nil, invalid("algorithm not allowed")
	case !strings.EqualFold(h.Typ, "at+jwt") && !strings.EqualFold(h.Typ, "application/at+jwt"):
		return nil, invalid("token type is not at+jwt")
	}
	key, err := v.lookup(ctx, h.Kid)
	if err != nil {
		return nil, err
	}
	if h.Alg != string(key.algs[0]) {
		return nil, invalid("algorithm does not match the key")
	}
	jws, err := jose.ParseSignedCompact(rawToken, key.algs)
	if err != nil {
		return nil, &tokenError{kind: ErrInvalidToken, reason: "malformed token", err: err}
	}
	// go-jose reads header names exactly, encoding/json does not: a header
	// that the two read differently is rejected rather than trusted.
	if signed := jws.Signatures[0].Protected; signed.KeyID != h.Kid || signed.ExtraHeaders[jose.HeaderType] != h.Typ {
		return nil, invalid("ambiguous token header")
	}
	payload, err := jws.Verify(key.jwk.Key)
	if err != nil {
		return nil, &tokenError{kind: ErrInvalidToken, reason: "bad signature", err: err}
	}
	c, err := parseClaims(payload)
	if err != nil {
		return nil, err
	}
	if err := v.check(c); err != nil {
		return nil, err
	}
	return c, nil
}

// header returns the protected header of a compact JWS. A token that does
// not have the three parts of one is rejected here, before its kid can
// cause a key set refresh.
func (v *Verifier) header(token string) (header, error) {
	if strings.Count(token, ".") != 2 {
		return header{}, invalid("malformed token")
	}
	seg, _, _ := strings.Cut(token, ".")
	if last := v.lastHeader.Load(); last != nil && last.segment == seg {
		return last.header, nil
	}
	h, err := decodeHeader(seg)
	if err != nil {
		return h, err
	}
	v.lastHeader.Store(&decodedHeader{segment: strings.Clone(seg), header: h})
	return h, nil
}

// decodeHeader decodes a base64url protected header segment.
func decodeHeader(seg string) (header, error) {
	var h header
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return h, invalid("malformed token header")
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, invalid("malformed token header")
	}
	return h, nil
}

// supportedAlgorithm reports whether alg is one of the asymmetric
// signature algorithms a key set may publish keys for.
func supportedAlgorithm(alg string) bool {
	switch jose.SignatureAlgorithm(alg) {
	case jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512,
		jose.EdDSA:
		return true
	}
	return false
}

// check validates the claims of a token whose signature is good.
func (v *Verifier) check(c *Claims) error {
	now := v.cfg.now()
	leeway := v.cfg.leeway
	switch {
	case c.Issuer != v.issuer:
		return invalid("wrong issuer")
	case c.Subject == "":
		return invalid("token has no subject")
	case c.Expiry.IsZero():
		return invalid("token has no expiry")
	case now.After(c.Expiry.Add(leeway)):
		return &tokenError{kind: ErrExpired, reason: "token expired"}
	case !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore):
		return &tokenError{kind: ErrNotYetValid, reason: "token not valid yet"}
	case !c.IssuedAt.IsZero() && now.Add(leeway).Before(c.IssuedAt):
		return &tokenError{kind: ErrNotYetValid, reason: "token issued in the future"}
	case len(v.cfg.audiences) > 0 && !c.hasAudience(v.cfg.audiences):
		return invalid("wrong audience")
	}
	for _, s := range v.cfg.scopes {
		if !c.HasScope(s) {
			return fmt.Errorf("%w: missing scope %q", ErrInsufficientScope, s)
		}
	}
	for _, r := range v.cfg.roles {
		if !c.HasRole(r) {
			return fmt.Errorf("%w: missing role %q", ErrInsufficientScope, r)
		}
	}
	return nil
}
