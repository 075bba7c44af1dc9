package oidcconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sigil-auth/sigil/upstream"
)

// providerTTL is how long a provider's discovery document (and with it
// its JWKS cache) is kept before it is read again.
const providerTTL = 5 * time.Minute

// Connectors open connectors to OpenID Providers, keeping each
// provider's discovery document and keys for a few minutes.
type Connectors struct {
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	providers map[string]cached
}

type cached struct {
	p         *oidc.Provider
	issParam  bool
	fetchedAt time.Time
}

// New returns the connectors; every call to a provider is bounded by
// timeout (besides the caller's context).
func New(timeout time.Duration) *Connectors {
	client := &http.Client{Timeout: timeout, Transport: limitedTransport{next: http.DefaultTransport}}
	return &Connectors{client: client, now: time.Now, providers: map[string]cached{}}
}

// Open is an upstream.Opener for the type oidc.
func (cs *Connectors) Open(ctx context.Context, u upstream.Upstream, secret, redirectURI string, fresh bool) (upstream.Connector, error) {
	ctx = oidc.ClientContext(ctx, cs.client)
	cs.mu.Lock()
	c, ok := cs.providers[u.Issuer]
	cs.mu.Unlock()
	if fresh || !ok || cs.now().Sub(c.fetchedAt) > providerTTL {
		p, err := oidc.NewProvider(ctx, u.Issuer)
		if err != nil {
			return nil, fmt.Errorf("discovery of %s: %w", u.Issuer, err)
		}
		var meta struct {
			ISSParameter bool `json:"authorization_response_iss_parameter_supported"`
		}
		_ = p.Claims(&meta)
		if ok && c.p.Endpoint() == p.Endpoint() && c.issParam == meta.ISSParameter {
			// The same document: keep the provider and its cached keys.
			p = c.p
		}
		c = cached{p: p, issParam: meta.ISSParameter, fetchedAt: cs.now()}
		cs.mu.Lock()
		cs.providers[u.Issuer] = c
		cs.mu.Unlock()
	}
	return &connector{
		client: cs.client, now: cs.now, issuer: u.Issuer, issParam: c.issParam, provider: c.p,
		oauth: oauth2.Config{ClientID: u.ClientID, ClientSecret: secret, Endpoint: c.p.Endpoint(),
			RedirectURL: redirectURI, Scopes: u.Scopes},
		verifier: c.p.Verifier(&oidc.Config{ClientID: u.ClientID}),
	}, nil
}

type connector struct {
	client   *http.Client
	now      func() time.Time
	issuer   string
	issParam bool
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
}

// AuthURL asks, when fresh, for a new sign-in at the provider:
// prompt=login and max_age=0 (OpenID Connect Core 3.1.2.1); max_age
// also makes the provider put auth_time in the ID token.
func (c *connector) AuthURL(state, nonce, challenge string, fresh bool) string {
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("code_challenge", challenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256")}
	if fresh {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	}
	return c.oauth.AuthCodeURL(state, opts...)
}

func (c *connector) Finish(ctx context.Context, code, iss, verifier, nonce string, maxAge time.Duration) (upstream.Claims, error) {
	rejected := func(format string, a ...any) (upstream.Claims, error) {
		return upstream.Claims{}, fmt.Errorf("%w: %s", upstream.ErrRejected, fmt.Sprintf(format, a...))
	}
	// RFC 9207: an iss that names another issuer is a mix-up; a provider
	// that says it sends iss and sent none, too.
	switch {
	case iss != "" && iss != c.issuer:
		return rejected("callback iss %.200q is not the upstream's issuer", iss)
	case iss == "" && c.issParam:
		return rejected("callback without the iss the upstream says it sends")
	case code == "":
		return rejected("callback without a code")
	}
	ctx = oidc.ClientContext(ctx, c.client)
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return rejected("the token endpoint refused the code: %.200s", re.ErrorCode)
		}
		return upstream.Claims{}, fmt.Errorf("%w: token endpoint: %v", upstream.ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return rejected("no id_token in the token response")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		if strings.Contains(err.Error(), "fetching keys") {
			return upstream.Claims{}, fmt.Errorf("%w: %v", upstream.ErrUnavailable, err)
		}
		return rejected("id_token: %v", err)
	}
	if idt.Nonce != nonce {
		return rejected("id_token nonce does not match")
	}
	var cl struct {
		Email         string   `json:"email"`
		EmailVerified any      `json:"email_verified"`
		Name          string   `json:"name"`
		AuthTime      *float64 `json:"auth_time"`
	}
	if err := idt.Claims(&cl); err != nil {
		return rejected("id_token claims: %v", err)
	}
	if maxAge > 0 {
		// A provider that ignored prompt=login and max_age answers
		// with its session's old sign-in, or without auth_time.
		if cl.AuthTime == nil {
			return upstream.Claims{}, fmt.Errorf("%w: the id_token has no auth_time", upstream.ErrNotFresh)
		}
		at := time.Unix(int64(*cl.AuthTime), 0)
		if age := c.now().Sub(at); age > maxAge {
			return upstream.Claims{}, fmt.Errorf("%w: signed in at the upstream %s ago, more than %s", upstream.ErrNotFresh,
				age.Truncate(time.Second), maxAge.Truncate(time.Second))
		}
	}
	// Some providers send email_verified as a string.
	verified := cl.EmailVerified == true || cl.EmailVerified == "true"
	claims := upstream.Claims{Subject: idt.Subject, Email: cl.Email, EmailVerified: verified, Name: cl.Name}
	if claims.Email == "" && c.provider.UserInfoEndpoint() != "" {
		return c.userinfo(ctx, tok, claims)
	}
	return claims, nil
}

// userinfo completes claims from the userinfo endpoint when the ID token
// carries no email (providers that keep the ID token small): email,
// email_verified and name, only when its sub is the ID token's.
func (c *connector) userinfo(ctx context.Context, tok *oauth2.Token, claims upstream.Claims) (upstream.Claims, error) {
	ui, err := c.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		var ne net.Error
		// go-oidc answers a status other than 200 as "{status}: {body}".
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.HasPrefix(err.Error(), "5") {
			return upstream.Claims{}, fmt.Errorf("%w: userinfo: %.200v", upstream.ErrUnavailable, err)
		}
		return upstream.Claims{}, fmt.Errorf("%w: userinfo: %.200v", upstream.ErrRejected, err)
	}
	if ui.Subject != claims.Subject {
		return upstream.Claims{}, fmt.Errorf("%w: userinfo sub %.100q is not the id_token's", upstream.ErrRejected, ui.Subject)
	}
	var extra struct {
		Name string `json:"name"`
	}
	_ = ui.Claims(&extra)
	claims.Email, claims.EmailVerified = ui.Email, ui.EmailVerified
	if claims.Name == "" {
		claims.Name = extra.Name
	}
	return claims, nil
}
