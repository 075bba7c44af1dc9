package authority

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/keys"
)

// Leeway is the clock skew allowed on exp and nbf.
const Leeway = keys.Leeway

// Audience is the aud claim: one string on the wire when it has one member
// (the common case), an array otherwise; both forms are read.
type Audience []string

// MarshalJSON writes a single audience as a string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

// Contains reports whether aud is one of the audiences.
func (a Audience) Contains(aud string) bool {
	for _, x := range a {
		if x == aud {
			return true
		}
	}
	return false
}

// Claims are the claims of a Sigil access token (RFC 9068).
type Claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  Audience `json:"aud"`
	Expiry    int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	Email     string   `json:"email,omitempty"`
	Roles     []string `json:"roles,omitzero"`
	// SessionID is the refresh-token family the token was issued with,
	// so the user's session list can mark the current one.
	SessionID string `json:"sid,omitempty"`
	// AMR lists how the user authenticated (RFC 8176), for user tokens.
	AMR []string `json:"amr,omitempty"`
	// IDP is the upstream identity provider the user signed in through
	// (upstream sign-in), empty for a sign-in at Sigil itself.
	IDP string `json:"idp,omitempty"`

	// KID is the key that signed the token (from its header).
	KID string `json:"-"`
}

// HasRole reports whether the token carries role.
func (c *Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// ExpiresAt returns exp as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0) }

// Sign signs claims with the active key; grant names how the token was
// obtained ("password", "refresh_token", "client_credentials") for the
// issue observer.
func (s *Service) Sign(c *Claims, grant string) (string, error) {
	snap := s.ring.Load()
	if snap == nil || snap.Active() == nil {
		return "", fmt.Errorf("%w: no signing key loaded", ErrUnavailable)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signer := snap.Active()
	tok, err := signer.Sign(payload)
	if err == nil && s.onIssue != nil {
		s.onIssue(string(signer.Alg), grant)
	}
	return tok, err
}

// OnIssue registers f to be called for every access token signed, with the
// algorithm and the grant (for metrics). Call it before serving.
func (s *Service) OnIssue(f func(alg, grant string)) { s.onIssue = f }

// NewAccessClaims returns the claims of a token for subject issued now.
func (s *Service) NewAccessClaims(subject, clientID, scope string, aud Audience, ttl time.Duration) *Claims {
	now := s.now()
	return &Claims{
		Issuer: s.cfg.Issuer, Subject: subject, Audience: aud,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(ttl).Unix(),
		ID: NewTokenID(), ClientID: clientID, Scope: scope,
	}
}

// issueUserTokens signs an access token for u and creates a new refresh
// token family.
func (s *Service) issueUserTokens(ctx context.Context, u User, scope, clientID string, amr []string, meta Meta) (TokenPair, error) {
	family := NewTokenID()
	c := s.NewAccessClaims(u.ID, clientID, scope, Audience{s.cfg.Audience}, s.cfg.AccessTTL)
	c.Email, c.Roles, c.SessionID = u.Email, u.Roles(), family
	c.AMR, c.IDP = SplitAMR(amr)
	access, err := s.Sign(c, "password")
	if err != nil {
		return TokenPair{}, err
	}
	refresh, rt := s.NewRefreshToken(family, u.ID, clientID, scope)
	rt.UserAgent, rt.IP, rt.AMR = truncate(meta.UserAgent, 256), meta.IP, amr
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, ExpiresIn: int(s.cfg.AccessTTL / time.Second), RefreshToken: refresh, UserID: u.ID}, nil
}

// NewRefreshToken makes an opaque refresh token (its issue time and 208
// random bits, see refresh_key.go) and the record that stores only its
// key: the time and the token's hash.
func (s *Service) NewRefreshToken(family, userID, clientID, scope string) (string, RefreshToken) {
	now := s.now().UTC()
	tok := newRefreshTokenText(now)
	return tok, RefreshToken{
		Hash: RefreshTokenKey(tok), FamilyID: family, UserID: userID, ClientID: clientID, Scope: scope,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL),
	}
}

// HashToken is how opaque tokens (refresh tokens, client secrets) are
// stored: hex SHA-256. They carry 256 random bits, so a slow hash would add
// cost and no safety.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func NewTokenID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signatureAlgs are the only algorithms a token may name; "none" and HMAC
// are refused by the parser before anything else is looked at.
var signatureAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.EdDSA, jose.ES256}

// SignatureAlgorithms returns the algorithms this authority signs with
// and accepts: never none or HMAC.
func SignatureAlgorithms() []jose.SignatureAlgorithm { return slices.Clone(signatureAlgs) }

// Verify checks an access token issued by this authority for audience
// ("" means the configured default): the key named by kid must be
// published and not revoked, the token's alg must be that key's alg, typ
// must be at+jwt, and iss, aud, exp and nbf must hold with Leeway.
//
// A token revoked at /oauth2/revoke is rejected too (see denyList).
func (s *Service) Verify(ctx context.Context, raw, audience string) (*Claims, error) {
	if audience == "" {
		audience = s.cfg.Audience
	}
	return s.verify(ctx, raw, audience)
}

// VerifyAnyAudience is Verify for a token of any audience: the userinfo
// endpoint serves every client's access tokens.
func (s *Service) VerifyAnyAudience(ctx context.Context, raw string) (*Claims, error) {
	return s.verify(ctx, raw, "")
}

// verify is Verify for one audience, or for any audience when audience is
// empty (introspection and revocation, which serve every client).
func (s *Service) verify(ctx context.Context, raw, audience string) (*Claims, error) {
	c, err := s.verifySignature(raw)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case c.Issuer != s.cfg.Issuer:
		return nil, fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	case audience != "" && !c.Audience.Contains(audience):
		return nil, fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	case c.Expiry == 0 || now.After(time.Unix(c.Expiry, 0).Add(Leeway)):
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	case now.Add(Leeway).Before(time.Unix(c.NotBefore, 0)), now.Add(Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return nil, fmt.Errorf("%w: not valid yet", ErrInvalidToken)
	case c.Subject == "" || c.ID == "":
		return nil, fmt.Errorf("%w: missing sub or jti", ErrInvalidToken)
	}
	if denied, err := s.denied(ctx, c); err != nil {
		return nil, err
	} else if denied {
		return nil, fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	return c, nil
}

func (s *Service) verifySignature(raw string) (*Claims, error) {
	if len(raw) > 16<<10 {
		return nil, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	if c, ok, err := s.verifyKnownHeader(raw); ok {
		return c, err
	}
	return s.verifyJOSE(raw)
}

// publishedKey returns the published, non-revoked key named kid, provided
// alg is that key's own algorithm: a token never chooses how it is checked.
func (s *Service) publishedKey(kid, alg string) (*jose.JSONWebKey, error) {
	snap := s.ring.Load()
	if snap == nil {
		return nil, fmt.Errorf("%w: no keys loaded", ErrUnavailable)
	}
	key, ok := snap.Key(kid)
	if !ok {
		return nil, fmt.Errorf("%w: unknown or revoked kid", ErrInvalidToken)
	}
	if alg != key.Algorithm {
		return nil, fmt.Errorf("%w: alg does not match the key", ErrInvalidToken)
	}
	return key, nil
}

// verifyJOSE parses and verifies raw with go-jose, and remembers its
// header when it is valid (see knownHeaders).
func (s *Service) verifyJOSE(raw string) (*Claims, error) {
	jws, err := jose.ParseSignedCompact(raw, signatureAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, fmt.Errorf("%w: typ is not at+jwt", ErrInvalidToken)
	}
	key, err := s.publishedKey(h.KeyID, h.Algorithm)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: malformed claims", ErrInvalidToken)
	}
	c.KID = h.KeyID
	s.headers.learn(raw, h)
	return &c, nil
}

// IDPPrefix marks, in a sign-in's amr list as sessions, codes and
// refresh families carry it, the upstream the user signed in through.
const IDPPrefix = "idp:"

// SplitAMR separates a stored amr list into the amr claim (RFC 8176
// methods) and the idp claim (the upstream, "" for none).
func SplitAMR(stored []string) (amr []string, idp string) {
	if !slices.ContainsFunc(stored, func(m string) bool { return strings.HasPrefix(m, IDPPrefix) }) {
		return stored, "" // the common case: no upstream, nothing to copy
	}
	for _, m := range stored {
		if v, ok := strings.CutPrefix(m, IDPPrefix); ok {
			idp = v
			continue
		}
		amr = append(amr, m)
	}
	return amr, idp
}
