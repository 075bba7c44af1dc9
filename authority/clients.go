package authority

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Client is an OAuth 2.0 client. A confidential client's secret is stored
// only as HashToken(secret); a public client has none.
type Client struct {
	ID         string
	Name       string
	SecretHash string
	// Scopes are the scopes the client may request beyond the OpenID
	// Connect ones (see oidcScopes).
	Scopes   []string
	Audience string
	// TokenTTL is the lifetime of the client's access tokens; 0 means
	// Config.AccessTTL.
	TokenTTL  time.Duration
	CreatedAt time.Time

	// RedirectURIs are the exact redirect URIs of the authorization code
	// flow; PostLogoutRedirectURIs those of RP-initiated logout.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// GrantTypes are the grants the client may use.
	GrantTypes []string
	// Public clients have no secret, authenticate with client_id alone
	// and must use PKCE.
	Public bool
	// FirstParty clients are run by the operator of this Sigil: they are
	// never shown the consent page, their users' tokens may call Sigil's
	// own account API, and only they may have Sigil's own audience
	// (Config.Audience), such as a resource server that introspects the
	// tokens of REST sign-in.
	FirstParty bool
	// RequireMFA clients get codes only for browser sessions signed in
	// with a second factor.
	RequireMFA bool
	// PKCEOptional confidential clients may leave PKCE out of their
	// authorization requests; every other client must send it (OAuth
	// 2.1).
	PKCEOptional bool
	// Document is set for a client described by a client ID metadata
	// document (its ID is the document's URL): never stored, always
	// asked for consent, named on the consent page with the document's
	// host.
	Document bool
}

// HasGrant reports whether the client may use grant.
func (c Client) HasGrant(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// NewClient is the input of CreateClient.
type NewClient struct {
	Name     string
	Scopes   []string
	Audience string
	// TokenTTL is optional (0: the access-token TTL) and may not exceed
	// Config.AccessTTL, which is what signing keys are retained for.
	TokenTTL time.Duration

	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// GrantTypes defaults to client_credentials without redirect URIs and
	// to authorization_code and refresh_token with them.
	GrantTypes []string
	Public     bool
	FirstParty bool
	RequireMFA bool
	// PKCEOptional lets a confidential client leave PKCE out; a public
	// client may not.
	PKCEOptional bool
}

// Limits on client fields.
const (
	MaxClientNameRunes = 200
	MaxAudienceBytes   = 200
	MaxScopes          = 100
	MaxScopeBytes      = 128
)

// ParseScope splits a space-separated scope (RFC 6749 §3.3) into its
// tokens, sorted and without duplicates. Each token is printable ASCII
// without space, '"' or '\'.
func ParseScope(scope string) ([]string, error) {
	return normalizeScopes(strings.Split(scope, " "), true)
}

func normalizeScopes(in []string, skipEmpty bool) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, sc := range in {
		if sc == "" && skipEmpty {
			continue
		}
		if sc == "" || len(sc) > MaxScopeBytes {
			return nil, fmt.Errorf("%w: scope tokens must be 1 to %d characters", ErrInvalidScope, MaxScopeBytes)
		}
		for i := 0; i < len(sc); i++ {
			c := sc[i]
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, fmt.Errorf("%w: scope %q has a character RFC 6749 does not allow", ErrInvalidScope, sc)
			}
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	if len(out) > MaxScopes {
		return nil, fmt.Errorf("%w: at most %d scopes", ErrInvalidScope, MaxScopes)
	}
	sort.Strings(out)
	return out, nil
}

// narrowScope returns the scope of a token whose grant allows allowed
// (space-separated) when requested is asked for: allowed itself when
// requested is empty, requested when every one of its scopes is allowed,
// and ErrInvalidScope otherwise.
func narrowScope(allowed, requested string) (string, error) {
	want, err := ParseScope(requested)
	if err != nil {
		return "", err
	}
	have, _ := ParseScope(allowed)
	if len(want) == 0 {
		return strings.Join(have, " "), nil
	}
	ok := map[string]bool{}
	for _, sc := range have {
		ok[sc] = true
	}
	for _, sc := range want {
		if !ok[sc] {
			return "", fmt.Errorf("%w: %q is not allowed", ErrInvalidScope, sc)
		}
	}
	return strings.Join(want, " "), nil
}

// CreateClient validates in, creates the client and returns it with its
// secret: 256 random bits, shown this once and stored only hashed.
func (s *Service) CreateClient(ctx context.Context, in NewClient, meta Meta) (Client, string, error) {
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		return Client{}, "", invalid("name", "is required")
	case utf8.RuneCountInString(name) > MaxClientNameRunes:
		return Client{}, "", invalid("name", "must be at most 200 characters")
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return Client{}, "", invalid("name", "contains control characters")
	}
	scopes, err := normalizeScopes(in.Scopes, false)
	if err != nil {
		return Client{}, "", invalid("scopes", strings.TrimPrefix(err.Error(), ErrInvalidScope.Error()+": "))
	}
	if err := validateClientScopes(scopes, in.FirstParty); err != nil {
		return Client{}, "", err
	}
	// No audience means the client's own id.
	aud := strings.TrimSpace(in.Audience)
	if err := s.validateAudience(aud, in.FirstParty); err != nil {
		return Client{}, "", err
	}
	switch {
	case in.TokenTTL < 0 || (in.TokenTTL > 0 && in.TokenTTL < time.Second):
		return Client{}, "", invalid("tokenTtl", "must be at least one second")
	case in.TokenTTL > s.cfg.AccessTTL:
		return Client{}, "", invalid("tokenTtl", fmt.Sprintf("must not exceed the access-token TTL (%s)", s.cfg.AccessTTL))
	}
	c := Client{ID: newUUID(), Name: name, Scopes: scopes, Audience: aud,
		TokenTTL: in.TokenTTL.Truncate(time.Second), CreatedAt: s.now().UTC(),
		Public: in.Public, FirstParty: in.FirstParty, RequireMFA: in.RequireMFA}
	if c.Audience == "" {
		c.Audience = c.ID
	}
	if err := validateClientFlow(&c, in); err != nil {
		return Client{}, "", err
	}
	secret := ""
	if !c.Public {
		secret = newSecret()
		c.SecretHash = HashToken(secret)
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return Client{}, "", err
	}
	s.audit(ctx, Event{Type: EventClientCreated, Actor: meta.Actor, IP: meta.IP, Detail: "client " + c.ID + " (" + c.Name + ")"})
	return c, secret, nil
}

// Clients lists the clients, oldest first, each with the audience its
// tokens carry.
func (s *Service) Clients(ctx context.Context) ([]Client, error) {
	cs, err := s.store.ListClients(ctx)
	for i := range cs {
		cs[i].Audience = s.ClientAudience(cs[i])[0]
	}
	return cs, err
}

// DeleteClient deletes a client, revokes its refresh tokens and puts every
// access token issued to it on the deny list. ErrNotFound for no such
// client.
func (s *Service) DeleteClient(ctx context.Context, id string, meta Meta) error {
	if !PlainID(id) {
		return ErrNotFound
	}
	if err := builtinClient(id); err != nil {
		return err
	}
	if err := s.store.DeleteClient(ctx, id, s.now().UTC()); err != nil {
		return err
	}
	if err := s.denyKey(ctx, denyClientPrefix+id); err != nil {
		return err
	}
	s.audit(ctx, Event{Type: EventClientDeleted, Actor: meta.Actor, IP: meta.IP, Detail: "client " + id})
	return nil
}

// PlainID reports whether id could name a client: 1 to 128 bytes of
// printable ASCII. Anything else (a NUL byte, which Postgres refuses in
// text, invalid UTF-8, control characters) is no client, decided before
// the database is asked.
func PlainID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// AuthenticateClient checks a client's id and secret, comparing the
// secret's hash in constant time. Unknown ids cost the same comparison.
func (s *Service) AuthenticateClient(ctx context.Context, id, secret string) (Client, error) {
	if !PlainID(id) || secret == "" || len(secret) > 512 {
		return Client{}, ErrInvalidClient
	}
	c, err := s.store.ClientByID(ctx, id)
	want := c.SecretHash
	if errors.Is(err, ErrNotFound) || (err == nil && c.Public) {
		// A public client has no secret: whatever is sent is wrong,
		// after the same comparison.
		want, c = s.dummySecretHash, Client{}
	} else if err != nil {
		return Client{}, err
	}
	if subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(want)) != 1 || c.ID == "" {
		return Client{}, ErrInvalidClient
	}
	return c, nil
}

// IsPublicClient reports whether id names the login client, which has no
// secret and may only refresh and revoke its own tokens.
func (s *Service) IsPublicClient(id string) bool { return id == s.cfg.LoginClientID }

// PublicClient returns the registered public client id, which
// authenticates with its id alone; ErrInvalidClient for an unknown id or a
// confidential client.
func (s *Service) PublicClient(ctx context.Context, id string) (Client, error) {
	if !PlainID(id) && (s.documents == nil || !s.documents.DocumentURL(id)) {
		return Client{}, ErrInvalidClient
	}
	c, err := s.clientByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && !c.Public) {
		return Client{}, ErrInvalidClient
	}
	return c, err
}

// Client returns the client id; ErrNotFound for none.
func (s *Service) Client(ctx context.Context, id string) (Client, error) {
	if !PlainID(id) && (s.documents == nil || !s.documents.DocumentURL(id)) {
		return Client{}, ErrNotFound
	}
	return s.clientByID(ctx, id)
}

// ClientToken is an access token issued by the client_credentials grant.
type ClientToken struct {
	AccessToken string
	ExpiresIn   int
	Scope       string
}

// ClientCredentials issues an access token to an authenticated client for
// itself: sub and client_id are the client id, aud its audience, scope the
// requested scopes (all allowed ones when none are requested). It carries
// no email or roles. A resource indicator (RFC 8707), when not empty, is
// the token's audience instead (ErrInvalidTarget unless registered).
func (s *Service) ClientCredentials(ctx context.Context, c Client, scope, resource string) (ClientToken, error) {
	if c.Public || !c.HasGrant("client_credentials") {
		return ClientToken{}, fmt.Errorf("%w: the client may not use client_credentials", ErrUnauthorizedClient)
	}
	granted, err := narrowScope(strings.Join(c.Scopes, " "), scope)
	if err != nil {
		return ClientToken{}, err
	}
	aud, err := s.ResourceAudience(ctx, c, resource)
	if err != nil {
		return ClientToken{}, err
	}
	ttl := s.ClientTTL(c)
	claims := s.NewAccessClaims(c.ID, c.ID, granted, aud, ttl)
	tok, err := s.Sign(claims, "client_credentials")
	if err != nil {
		return ClientToken{}, err
	}
	return ClientToken{AccessToken: tok, ExpiresIn: int(ttl / time.Second), Scope: granted}, nil
}

func (s *Service) ClientTTL(c Client) time.Duration {
	if c.TokenTTL <= 0 || c.TokenTTL > s.cfg.AccessTTL {
		return s.cfg.AccessTTL
	}
	return c.TokenTTL
}

// newSecret returns 256 random bits, base64url.
func newSecret() string { return RandomToken(32) }

// RandomToken returns n random bytes, base64url.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
