package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

// IDClaims are the claims of an OpenID Connect ID token.
type IDClaims struct {
	Issuer   string             `json:"iss"`
	Subject  string             `json:"sub"`
	Audience authority.Audience `json:"aud"`
	Expiry   int64              `json:"exp"`
	IssuedAt int64              `json:"iat"`
	AuthTime int64              `json:"auth_time"`
	Nonce    string             `json:"nonce,omitempty"`
	SID      string             `json:"sid,omitempty"`
	AtHash   string             `json:"at_hash,omitempty"`
	AMR      []string           `json:"amr,omitempty"`
	// ACR is the authentication context class of the sign-in
	// (ACRPassword or ACRMFA).
	ACR string `json:"acr,omitempty"`
	// IDP is the upstream the user signed in through, if any.
	IDP string `json:"idp,omitempty"`
	// With scope email.
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	// With scope profile.
	Name *string `json:"name,omitempty"`
}

// IDTokenClaims lists every claim an ID token may carry, for discovery's
// claims_supported.
var IDTokenClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash", "amr", "acr", "idp", "email", "email_verified", "name"}

// signIDToken signs the ID token of a code redemption: typ JWT, lifetime
// the access-token TTL (so that key retention covers it), at_hash of the
// access token issued with it.
func (s *Service) signIDToken(u authority.User, c authority.Client, req AuthorizeRequest, sess BrowserSession, accessToken string, now time.Time) (string, error) {
	snap := s.ring.Load()
	if snap == nil || snap.Active() == nil {
		return "", fmt.Errorf("%w: no signing key loaded", authority.ErrUnavailable)
	}
	signer := snap.Active()
	ic := IDClaims{
		Issuer: s.cfg.Issuer, Subject: u.ID, Audience: authority.Audience{c.ID},
		Expiry: now.Add(s.cfg.AccessTTL).Unix(), IssuedAt: now.Unix(), AuthTime: sess.AuthTime.Unix(),
		Nonce: req.Nonce, SID: sess.ID, ACR: acrOf(sess.AMR),
	}
	ic.AMR, ic.IDP = authority.SplitAMR(sess.AMR)
	if accessToken != "" {
		ic.AtHash = atHash(signer.Alg, accessToken)
	}
	if req.HasScope(authority.ScopeEmail) {
		verified := u.EmailVerified
		ic.Email, ic.EmailVerified = u.Email, &verified
	}
	if req.HasScope(ScopeProfile) {
		name := u.Name
		ic.Name = &name
	}
	payload, err := json.Marshal(ic)
	if err != nil {
		return "", err
	}
	return signer.SignJWT(payload)
}

// atHash is the at_hash of an access token: the base64url left half of
// its hash under the ID token's algorithm (SHA-512 for EdDSA, as OpenID
// Connect's registry and client libraries have it).
func atHash(alg keys.Alg, token string) string {
	var h hash.Hash
	if alg == keys.EdDSA {
		h = sha512.New()
	} else {
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// ParseIDTokenHint checks an id_token_hint of RP-initiated logout: an ID
// token this authority signed with a published key, with this issuer. An
// expired hint is accepted (the logout spec allows it); a forged or foreign
// one is ErrInvalidToken.
func (s *Service) ParseIDTokenHint(raw string) (IDClaims, error) {
	if len(raw) > 16<<10 {
		return IDClaims{}, fmt.Errorf("%w: too long", authority.ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.EdDSA, jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return IDClaims{}, fmt.Errorf("%w: malformed", authority.ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" || h.KeyID == "" {
		return IDClaims{}, fmt.Errorf("%w: not an ID token", authority.ErrInvalidToken)
	}
	key, err := s.publishedKey(h.KeyID, h.Algorithm)
	if err != nil {
		return IDClaims{}, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return IDClaims{}, fmt.Errorf("%w: bad signature", authority.ErrInvalidToken)
	}
	var ic IDClaims
	if err := json.Unmarshal(payload, &ic); err != nil || ic.Issuer != s.cfg.Issuer || ic.Subject == "" || len(ic.Audience) == 0 {
		return IDClaims{}, fmt.Errorf("%w: not an ID token of this issuer", authority.ErrInvalidToken)
	}
	return ic, nil
}

// UserInfo answers the userinfo endpoint for a verified access token: sub
// and the claims its scopes allow, read fresh from the account. A token
// issued without the openid scope, or whose user is gone, is
// ErrInvalidToken.
func (s *Service) UserInfo(ctx context.Context, c *authority.Claims) (map[string]any, error) {
	scopes := strings.Fields(c.Scope)
	has := func(sc string) bool {
		for _, x := range scopes {
			if x == sc {
				return true
			}
		}
		return false
	}
	if !has(ScopeOpenID) || !c.ForUser() {
		return nil, fmt.Errorf("%w: the access token was not issued with the openid scope", authority.ErrInvalidToken)
	}
	// A token for a resource server is that server's, not Sigil's.
	for _, aud := range c.Audience {
		if ok, err := s.ResourceRegistered(ctx, aud); err != nil {
			return nil, err
		} else if ok {
			return nil, fmt.Errorf("%w: the access token is for a resource server", authority.ErrInvalidToken)
		}
	}
	u, err := s.store.UserByID(ctx, c.Subject)
	if errors.Is(err, authority.ErrNotFound) {
		return nil, fmt.Errorf("%w: the user no longer exists", authority.ErrInvalidToken)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"sub": u.ID}
	if has(authority.ScopeEmail) {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	if has(ScopeProfile) {
		out["name"] = u.Name
	}
	return out, nil
}

// publishedKey returns the published, non-revoked key named kid, provided
// alg is that key's own algorithm: a token never chooses how it is checked.
func (s *Service) publishedKey(kid, alg string) (*jose.JSONWebKey, error) {
	snap := s.ring.Load()
	if snap == nil {
		return nil, fmt.Errorf("%w: no keys loaded", authority.ErrUnavailable)
	}
	key, ok := snap.Key(kid)
	if !ok || alg != key.Algorithm {
		return nil, fmt.Errorf("%w: unknown or revoked kid, or alg not the key's", authority.ErrInvalidToken)
	}
	return key, nil
}
