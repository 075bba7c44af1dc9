package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigil-auth/sigil/authority"
)

// Errors of dynamic client registration (RFC 7591 §3.2.2, RFC 7592).
// Each wraps the reason, which names no secret.
var (
	// ErrInvalidClientMetadata: a metadata value is invalid or not
	// allowed for a registered client (invalid_client_metadata).
	ErrInvalidClientMetadata = errors.New("invalid client metadata")
	// ErrInvalidRedirectURI: a redirect URI is missing or not one a
	// registered client may have (invalid_redirect_uri).
	ErrInvalidRedirectURI = errors.New("invalid redirect uri")
	// ErrInvalidRegistrationToken: the Bearer token of a registration
	// request is unknown, expired or used up (an initial access token),
	// or does not belong to the client (a registration access token).
	ErrInvalidRegistrationToken = errors.New("invalid registration token")
)

// How a client registered itself, as the audit log says.
const (
	RegisteredWithToken = "token"
	RegisteredOpenly    = "open"
)

// Token endpoint authentication methods a client may register with.
const (
	AuthMethodNone              = "none"
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
)

// ClientMetadata is what Sigil reads of an RFC 7591 registration request
// and answers with. Other members (client_uri, logo_uri, contacts,
// software statements, …) are ignored: Sigil would have to show a URL or
// a logo the registrant chose on the consent page, which only helps a
// registrant impersonate someone else.
type ClientMetadata struct {
	RedirectURIs            []string
	ClientName              string
	GrantTypes              []string
	ResponseTypes           []string
	TokenEndpointAuthMethod string
	// Scope is space-separated; it becomes the client's scopes, which
	// are also what an authorization request without scope asks for.
	Scope string
}

// Registration is the outcome of a registration: the client, its secret
// (confidential clients only) and its registration access token, both
// shown this once, and the metadata as registered.
type Registration struct {
	Client      authority.Client
	Secret      string
	AccessToken string
	Metadata    ClientMetadata
}

// RegisterClient registers a client that asks for itself (RFC 7591): a
// third-party client of the authorization code flow with a
// registration access token for RFC 7592. via says how the request was
// let in (RegisteredWithToken or RegisteredOpenly), for the audit log;
// with RegisteredWithToken, initialToken is the initial access token,
// one use of which is spent once the metadata is found valid, so a
// rejected request costs no use.
func (s *Service) RegisterClient(ctx context.Context, md ClientMetadata, via, initialToken string, meta authority.Meta) (Registration, error) {
	if via == RegisteredWithToken && initialToken == "" {
		return Registration{}, ErrInvalidRegistrationToken
	}
	in, md, err := registrationInput(md)
	if err != nil {
		return Registration{}, err
	}
	if via == RegisteredWithToken {
		if err := s.SpendRegistrationToken(ctx, initialToken); err != nil {
			return Registration{}, err
		}
	}
	token := authority.RandomToken(32)
	in.RegistrationTokenHash = authority.HashToken(token)
	c, secret, err := s.core.CreateClient(ctx, in, meta)
	var ve *authority.ValidationError
	switch {
	case errors.As(err, &ve) && ve.Field == "redirectUris":
		return Registration{}, fmt.Errorf("%w: %s", ErrInvalidRedirectURI, ve.Reason)
	case errors.As(err, &ve):
		return Registration{}, fmt.Errorf("%w: %s %s", ErrInvalidClientMetadata, ve.Field, ve.Reason)
	case err != nil:
		return Registration{}, err
	}
	s.audit(ctx, authority.Event{Type: authority.EventClientRegistered, Actor: c.ID, IP: meta.IP,
		Detail: "client " + c.ID + " (" + c.Name + ") registered itself (" + via + ")"})
	return Registration{Client: c, Secret: secret, AccessToken: token, Metadata: md}, nil
}

// registrationInput checks registration metadata and turns it into the
// core's input, filling in RFC 7591's defaults.
func registrationInput(md ClientMetadata) (authority.NewClient, ClientMetadata, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidClientMetadata, fmt.Sprintf(format, a...))
	}
	if len(md.RedirectURIs) == 0 {
		return authority.NewClient{}, md, fmt.Errorf("%w: redirect_uris is required", ErrInvalidRedirectURI)
	}
	if len(md.RedirectURIs) > authority.MaxRedirectURIs {
		return authority.NewClient{}, md, fmt.Errorf("%w: at most %d redirect_uris", ErrInvalidRedirectURI, authority.MaxRedirectURIs)
	}
	for _, u := range md.RedirectURIs {
		if err := validateRegisteredRedirectURI(u); err != nil {
			return authority.NewClient{}, md, fmt.Errorf("%w: %s", ErrInvalidRedirectURI, err)
		}
	}
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = []string{authority.GrantAuthorizationCode}
	}
	for _, g := range md.GrantTypes {
		if g != authority.GrantAuthorizationCode && g != authority.GrantRefreshToken {
			return authority.NewClient{}, md, bad("grant_types: %.64q is not allowed (authorization_code and refresh_token only)", g)
		}
	}
	if !slices.Contains(md.GrantTypes, authority.GrantAuthorizationCode) {
		return authority.NewClient{}, md, bad("grant_types must include authorization_code")
	}
	if len(md.ResponseTypes) == 0 {
		md.ResponseTypes = []string{"code"}
	}
	for _, rt := range md.ResponseTypes {
		if rt != "code" {
			return authority.NewClient{}, md, bad("response_types: %.64q is not supported (code only)", rt)
		}
	}
	if md.TokenEndpointAuthMethod == "" {
		md.TokenEndpointAuthMethod = AuthMethodClientSecretBasic
	}
	switch md.TokenEndpointAuthMethod {
	case AuthMethodNone, AuthMethodClientSecretBasic, AuthMethodClientSecretPost:
	default:
		return authority.NewClient{}, md, bad("token_endpoint_auth_method: %.64q is not supported (none, client_secret_basic, client_secret_post)", md.TokenEndpointAuthMethod)
	}
	scopes, err := authority.ParseScope(md.Scope)
	if err != nil {
		return authority.NewClient{}, md, bad("scope: %s", strings.TrimPrefix(err.Error(), authority.ErrInvalidScope.Error()+": "))
	}
	for _, sc := range scopes {
		if strings.HasPrefix(sc, "sigil:") {
			return authority.NewClient{}, md, bad("scope: %.64q is reserved to Sigil's own clients", sc)
		}
	}
	md.Scope = strings.Join(scopes, " ")
	md.ClientName = strings.TrimSpace(md.ClientName)
	switch {
	case !utf8.ValidString(md.ClientName) || strings.IndexFunc(md.ClientName, invisible) >= 0 || strings.IndexFunc(md.ClientName, unicode.IsControl) >= 0:
		return authority.NewClient{}, md, bad("client_name contains control characters")
	case utf8.RuneCountInString(md.ClientName) > authority.MaxClientNameRunes:
		return authority.NewClient{}, md, bad("client_name must be at most %d characters", authority.MaxClientNameRunes)
	}
	name := md.ClientName
	if name == "" {
		name = "Unnamed registered client"
	}
	grants := slices.Clone(md.GrantTypes)
	slices.Sort(grants)
	md.GrantTypes = slices.Compact(grants)
	return authority.NewClient{Name: name, Scopes: scopes, RedirectURIs: md.RedirectURIs, GrantTypes: md.GrantTypes,
		Public: md.TokenEndpointAuthMethod == AuthMethodNone, Registered: true}, md, nil
}

// validateRegisteredRedirectURI checks a redirect URI a client registers
// for itself: the rules of every client (authority.ValidateRedirectURI)
// and, stricter, ASCII only, http only on the loopback IP literals 127.0.0.1 and
// [::1] (RFC 8252 §7.3, §8.3): never "localhost", which a name server or
// a hosts file may send elsewhere.
func validateRegisteredRedirectURI(raw string) error {
	if err := authority.ValidateRedirectURI(raw); err != nil {
		return err
	}
	if strings.IndexFunc(raw, func(r rune) bool { return r > '~' }) >= 0 {
		// A URI, not an IRI: a host in look-alike letters would read as
		// another on the consent page.
		return fmt.Errorf("%.200q: only ASCII is allowed (percent-encode the rest)", raw)
	}
	u, _ := url.Parse(raw)
	if u.Scheme == "http" && u.Hostname() != "127.0.0.1" && u.Hostname() != "::1" {
		return fmt.Errorf("%.200q: http is allowed only on 127.0.0.1 and [::1]", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Host != "" {
		// A private-use scheme names the app, not a host: com.example.app:/cb.
		return fmt.Errorf("%.200q: a private-use scheme takes no host (com.example.app:/callback)", raw)
	}
	return nil
}

// RegisteredMetadata is the metadata of a registered client as RFC 7592
// reads it back.
func RegisteredMetadata(c authority.Client) ClientMetadata {
	method := AuthMethodClientSecretBasic
	if c.Public {
		method = AuthMethodNone
	}
	return ClientMetadata{RedirectURIs: c.RedirectURIs, ClientName: c.Name, GrantTypes: c.GrantTypes,
		ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: method, Scope: strings.Join(c.Scopes, " ")}
}

// RegisteredClient returns the registered client id whose registration
// access token is token (RFC 7592 §2.1). ErrInvalidRegistrationToken
// when there is no such client, it was not registered dynamically, or
// the token is not its own: the three are not told apart.
func (s *Service) RegisteredClient(ctx context.Context, id, token string) (authority.Client, error) {
	if token == "" || len(token) > 512 {
		return authority.Client{}, ErrInvalidRegistrationToken
	}
	c, err := s.core.Client(ctx, id)
	if err != nil && !errors.Is(err, authority.ErrNotFound) {
		return authority.Client{}, err
	}
	want := c.RegistrationTokenHash
	if want == "" {
		// The same comparison for a client without a token.
		want = authority.HashToken("")
	}
	if subtle.ConstantTimeCompare([]byte(authority.HashToken(token)), []byte(want)) != 1 || !c.Registered() {
		return authority.Client{}, ErrInvalidRegistrationToken
	}
	return c, nil
}

// DeleteRegisteredClient deletes a registered client at its own request
// (RFC 7592 §2.3), as DeleteClient does: its refresh tokens revoked, its
// access tokens denied.
func (s *Service) DeleteRegisteredClient(ctx context.Context, id, token string, meta authority.Meta) error {
	c, err := s.RegisteredClient(ctx, id, token)
	if err != nil {
		return err
	}
	meta.Actor = c.ID
	return s.core.DeleteClient(ctx, c.ID, meta)
}
