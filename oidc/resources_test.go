package oidc

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/keys"
)

func TestRedirectRegisteredLoopbackAnyPort(t *testing.T) {
	reg := []string{"http://127.0.0.1/cb", "http://[::1]/cb?x=1", "http://localhost/cb", "https://app.example.com/cb", "http://127.0.0.1:8080/fixed"}
	for uri, want := range map[string]bool{
		"http://127.0.0.1/cb":                   true,
		"http://127.0.0.1:1/cb":                 true,
		"http://127.0.0.1:65535/cb":             true,
		"http://[::1]:5000/cb?x=1":              true,
		"http://127.0.0.1:8080/fixed":           true,
		"http://127.0.0.1:8081/fixed":           false,
		"http://127.0.0.1:0/cb":                 false,
		"http://127.0.0.1:65536/cb":             false,
		"http://127.0.0.1:080/cb":               false,
		"http://127.0.0.1:/cb":                  false,
		"http://127.0.0.1:5000/cb/":             false,
		"http://127.0.0.1:5000/cb?x=1":          false,
		"http://127.0.0.1:5000/cb#f":            false,
		"http://[::1]:5000/cb":                  false,
		"http://localhost:5000/cb":              false,
		"https://app.example.com:8443/cb":       false,
		"http://127.0.0.1:5000@evil.example/cb": false,
	} {
		if got := RedirectRegistered(reg, uri); got != want {
			t.Errorf("RedirectRegistered(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestResourceURIRules(t *testing.T) {
	st := newMemStore()
	s := newTestService(t, st, keys.EdDSA, func(c *authority.Config) { c.Audience = "https://sigil.example.com" })
	ctx := context.Background()
	for _, bad := range []string{"", "https://sigil.example.com", "http://api.example.com/", "https://a.example.com/#x", "ftp://a.example.com/", "mailto:x@example.com", "https://u@a.example.com/"} {
		var ve *authority.ValidationError
		if _, err := s.CreateResource(ctx, bad, "n", authority.Meta{}); !errors.As(err, &ve) || ve.Field != "uri" {
			t.Errorf("CreateResource(%q): %v, want a uri validation error", bad, err)
		}
	}
	for _, good := range []string{"https://api.example.com/mcp", "http://127.0.0.1:9000/", "http://[::1]/x", "http://localhost:3000/mcp"} {
		if _, err := s.CreateResource(ctx, good, "n", authority.Meta{}); err != nil {
			t.Errorf("CreateResource(%q): %v", good, err)
		}
	}
	if _, err := s.CreateResource(ctx, "https://api.example.com/mcp", "again", authority.Meta{}); !errors.Is(err, ErrResourceTaken) {
		t.Errorf("duplicate: %v", err)
	}
	if ok, err := s.ResourceRegistered(ctx, "https://api.example.com/mcp"); !ok || err != nil {
		t.Errorf("registered: %v %v", ok, err)
	}
	if err := s.core.CheckResource(ctx, "https://unknown.example.com/"); !errors.Is(err, authority.ErrInvalidTarget) {
		t.Errorf("unregistered: %v", err)
	}
}

// An authorization request without scope gets the client's registered
// scopes, never sigil:admin; several resources are invalid_target.
func TestAuthorizeDefaultsAndResourceParam(t *testing.T) {
	c := authority.Client{ID: "c1", RedirectURIs: []string{"https://app.example.com/cb"}, GrantTypes: []string{authority.GrantAuthorizationCode},
		Scopes: []string{"notes.read", authority.ScopeAdmin}, Public: true}
	q := url.Values{"client_id": {"c1"}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}, "resource": {"https://api.example.com/"}}
	req, aerr := ParseAuthorizeParams(q, c)
	if aerr != nil || req.Scope() != "notes.read" || req.Resource != "https://api.example.com/" {
		t.Fatalf("no scope: %+v %v", req, aerr)
	}
	q["resource"] = []string{"https://a.example.com/", "https://b.example.com/"}
	if _, aerr := ParseAuthorizeParams(q, c); aerr == nil || aerr.Code != "invalid_target" || !aerr.Redirect {
		t.Errorf("two resources: %v", aerr)
	}
}
