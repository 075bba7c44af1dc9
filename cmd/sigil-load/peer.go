package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
)

// setupPeer is setup for a server that is not a Sigil (-peer). With a
// client secret it asks for one client_credentials token, which must be
// a JWS, and reads its alg. For the authcode scenario it signs a browser
// in once through the peer's own interaction (peerSignIn) and keeps the
// session for the workers.
func (l *loader) setupPeer(ctx context.Context, scenarios []string) error {
	if l.clientSecret != "" {
		var tok tokenAnswer
		st, err := l.call(ctx, http.MethodPost, "/oauth2/token", "application/x-www-form-urlencoded",
			clientCredentialsBody, http.Header{"Authorization": {l.basicAuth()}}, &tok)
		if err != nil {
			return fmt.Errorf("client_credentials: %w", err)
		}
		if st != http.StatusOK {
			return fmt.Errorf("client_credentials: status %d", st)
		}
		if l.alg = tokenAlg(tok.AccessToken); l.alg == "" {
			return errors.New("client_credentials: the access token is not a JWS (configure the peer for JWT access tokens)")
		}
	}
	if slices.Contains(scenarios, "authcode") {
		w, alg, err := peerSignIn(ctx, l)
		if err != nil {
			return fmt.Errorf("authorization code set-up: %w", err)
		}
		l.web = w
		if l.alg == "" {
			l.alg = alg
		}
	}
	return nil
}

// peerWeb is a browser signed in to a peer, with the endpoints its
// discovery document names.
type peerWeb struct {
	c         *http.Client // cookie jar; redirects read, not followed
	authorize string       // full URL of the authorization endpoint
	tokenPath string
	clientID  string
}

func (w *peerWeb) pairs(ctx context.Context, l *loader) (func(int) request, error) {
	return authCodePairs(ctx, l, w.c, w.authorize, w.tokenPath, w.clientID, "openid email")
}

// peerSignIn reads the peer's endpoints from its
// /.well-known/openid-configuration, then runs one authorization request
// of -client-id (public, PKCE) in a fresh cookie jar, following the
// peer's redirects on its own origin (its interaction pages, which the
// bench peer answers without a page: sign-in and grant) until one leads
// to authCodeRedirect with a code. It exchanges that code and returns
// the signed-in browser and the alg of the access token.
func peerSignIn(ctx context.Context, l *loader) (*peerWeb, string, error) {
	var disc struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
	}
	st, err := l.call(ctx, http.MethodGet, "/.well-known/openid-configuration", "", nil, nil, &disc)
	if err != nil || st != http.StatusOK {
		return nil, "", fmt.Errorf("discovery: status %d, %v", st, err)
	}
	authz, err1 := url.Parse(disc.Authorization)
	tok, err2 := url.Parse(disc.Token)
	if err1 != nil || err2 != nil || authz.Path == "" || tok.Path == "" {
		return nil, "", fmt.Errorf("discovery: endpoints %q and %q", disc.Authorization, disc.Token)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, "", err
	}
	c := *l.client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	w := &peerWeb{c: &c, authorize: l.base + authz.Path, tokenPath: tok.Path, clientID: l.clientID}

	verifier := randomHex(32)
	sum := sha256.Sum256([]byte(verifier))
	next, err := url.Parse(w.authorize + "?" + url.Values{
		"response_type": {"code"}, "client_id": {w.clientID}, "redirect_uri": {authCodeRedirect},
		"scope": {"openid email"}, "state": {"setup"}, "nonce": {"setup"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode())
	if err != nil {
		return nil, "", err
	}
	base, _ := url.Parse(l.base)
	code := ""
	for hop := 0; hop < 10 && code == ""; hop++ {
		if next.Host != base.Host {
			return nil, "", fmt.Errorf("redirected off the peer, to %s", next.Redacted())
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
		if err != nil {
			return nil, "", err
		}
		resp, err := w.c.Do(req)
		if err != nil {
			return nil, "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 != 3 {
			return nil, "", fmt.Errorf("GET %s: status %d, want a redirect: %s", next.Path, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		loc, err := next.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, "", fmt.Errorf("GET %s: redirect: %w", next.Path, err)
		}
		if strings.HasPrefix(loc.String(), authCodeRedirect+"?") {
			if code = loc.Query().Get("code"); code == "" {
				return nil, "", fmt.Errorf("sign-in ended without a code (error %q: %s)", loc.Query().Get("error"), loc.Query().Get("error_description"))
			}
		}
		next = loc
	}
	if code == "" {
		return nil, "", errors.New("no code after 10 redirects")
	}
	var ans tokenAnswer
	body := []byte(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {authCodeRedirect},
		"client_id": {w.clientID}, "code_verifier": {verifier}}.Encode())
	st, err = l.call(ctx, http.MethodPost, w.tokenPath, "application/x-www-form-urlencoded", body, nil, &ans)
	if err != nil || st != http.StatusOK {
		return nil, "", fmt.Errorf("code exchange: status %d, %v", st, err)
	}
	alg := tokenAlg(ans.AccessToken)
	if alg == "" {
		return nil, "", errors.New("code exchange: the access token is not a JWS (configure the peer for JWT access tokens)")
	}
	return w, alg, nil
}
