package oidc

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sigil-auth/sigil/authority"
)

// FuzzParseAuthorize feeds arbitrary query strings to the authorization
// request parser. It must never panic, and whatever it accepts must hold
// the rules: a registered redirect URI, response_type=code, an S256
// challenge of the right shape (required for a public client), only
// allowed scopes, prompt=none alone, and no redirect for an error about
// the client or its redirect URI.
func FuzzParseAuthorize(f *testing.F) {
	for _, seed := range []string{
		"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_challenge_method=plain&code_challenge=abc",
		"response_type=token&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
		"client_id=app&client_id=app",
		"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb",
		"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&prompt=none+login&max_age=-5",
		"response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid%00&state=%ff",
		"",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, raw string, public bool) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		c := authority.Client{ID: "app", RedirectURIs: []string{"https://app.example.com/cb"}, GrantTypes: []string{authority.GrantAuthorizationCode},
			Scopes: []string{"read"}, Public: public}
		req, aerr := ParseAuthorizeParams(q, c)
		if aerr != nil {
			if aerr.Redirect && aerr.RedirectURI != "https://app.example.com/cb" {
				t.Fatalf("error redirects to %q", aerr.RedirectURI)
			}
			if aerr.Code == "" || aerr.Description == "" {
				t.Fatalf("error without code or description: %+v", aerr)
			}
			return
		}
		switch {
		case req.RedirectURI != "https://app.example.com/cb":
			t.Fatalf("accepted redirect_uri %q", req.RedirectURI)
		case q.Get("response_type") != "code":
			t.Fatalf("accepted response_type %q", q.Get("response_type"))
		case public && req.CodeChallenge == "":
			t.Fatal("public client accepted without PKCE")
		case req.CodeChallenge != "" && (q.Get("code_challenge_method") != "S256" || len(req.CodeChallenge) != 43):
			t.Fatalf("accepted challenge %q method %q", req.CodeChallenge, q.Get("code_challenge_method"))
		case req.PromptNone && (req.PromptLogin || req.PromptConsent):
			t.Fatal("prompt=none accepted with other values")
		case len(req.State) > MaxStateBytes || len(req.Nonce) > MaxNonceBytes:
			t.Fatal("oversized state or nonce accepted")
		}
		for _, sc := range req.Scopes {
			if !slices.Contains(oidcScopes, sc) && sc != "read" {
				t.Fatalf("accepted scope %q", sc)
			}
			if strings.ContainsAny(sc, " \x00") {
				t.Fatalf("scope token %q", sc)
			}
		}
	})
}
