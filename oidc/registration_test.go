package oidc

import (
	"errors"
	"slices"
	"testing"

	"github.com/sigil-auth/sigil/authority"
)

// A registration becomes a third-party client of the sign-in grants, with
// RFC 7591's defaults filled in; what a registered client may not have is
// refused with the RFC's error.
func TestRegistrationInput(t *testing.T) {
	in, md, err := registrationInput(ClientMetadata{RedirectURIs: []string{"http://127.0.0.1/cb"}, Scope: "b a a"})
	if err != nil {
		t.Fatal(err)
	}
	if !in.Registered || in.FirstParty || in.Public || in.Audience != "" || !slices.Equal(in.GrantTypes, []string{"authorization_code"}) ||
		!slices.Equal(in.Scopes, []string{"a", "b"}) || in.Name != "Unnamed registered client" {
		t.Errorf("input: %+v", in)
	}
	if md.TokenEndpointAuthMethod != AuthMethodClientSecretBasic || !slices.Equal(md.ResponseTypes, []string{"code"}) || md.Scope != "a b" {
		t.Errorf("metadata with defaults: %+v", md)
	}
	if in, _, _ := registrationInput(ClientMetadata{RedirectURIs: []string{"com.example.app:/cb"}, TokenEndpointAuthMethod: "none"}); !in.Public {
		t.Error("none is not a public client")
	}
	for name, c := range map[string]struct {
		md   ClientMetadata
		want error
	}{
		"no redirect URI":        {ClientMetadata{}, ErrInvalidRedirectURI},
		"localhost":              {ClientMetadata{RedirectURIs: []string{"http://localhost/cb"}}, ErrInvalidRedirectURI},
		"http host":              {ClientMetadata{RedirectURIs: []string{"http://example.com/cb"}}, ErrInvalidRedirectURI},
		"IDN":                    {ClientMetadata{RedirectURIs: []string{"https://exämple.com/cb"}}, ErrInvalidRedirectURI},
		"client credentials":     {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, GrantTypes: []string{"client_credentials"}}, ErrInvalidClientMetadata},
		"refresh alone":          {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, GrantTypes: []string{"refresh_token"}}, ErrInvalidClientMetadata},
		"token response":         {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, ResponseTypes: []string{"token"}}, ErrInvalidClientMetadata},
		"sigil:admin":            {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, Scope: authority.ScopeAdmin}, ErrInvalidClientMetadata},
		"private_key_jwt":        {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, TokenEndpointAuthMethod: "private_key_jwt"}, ErrInvalidClientMetadata},
		"name with a control":    {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, ClientName: "a\x07b"}, ErrInvalidClientMetadata},
		"name with a zero-width": {ClientMetadata{RedirectURIs: []string{"https://a.example/cb"}, ClientName: "Sig\u200bil"}, ErrInvalidClientMetadata},
	} {
		if _, _, err := registrationInput(c.md); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
