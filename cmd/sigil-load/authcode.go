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
	"regexp"
	"strings"
)

// authCodeRedirect is the redirect URI of the scenario's client: nothing
// listens there, the load generator reads the code from the Location of
// the authorization answer without following it.
const authCodeRedirect = "http://127.0.0.1:9/callback"

// prepareAuthCode is the authorization code flow of a web app whose user
// is already signed in to Sigil (single sign-on): GET /oauth2/authorize
// with PKCE, which answers a redirect carrying a code, then POST
// /oauth2/token exchanging the code and verifier for an access token and
// an ID token. One ok answer is one such pair. Set-up creates a public,
// first-party client (no consent page) as the administrator and signs
// the load user in through the hosted login page, with its CSRF token,
// into a cookie jar the workers share. Against a -peer the session and
// the grant come from the peer's own set-up (peer.go).
func prepareAuthCode(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	if l.web != nil {
		return l.web.pairs(ctx, l)
	}
	if l.adminEmail == "" {
		return nil, errors.New("needs -admin-email/-admin-password to create a client")
	}
	clientID, err := l.createWebClient(ctx)
	if err != nil {
		return nil, err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := *l.client
	c.Jar = jar
	// Redirects are read, not followed.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if err := signInHosted(ctx, &c, l.base, l.email, l.password); err != nil {
		return nil, err
	}
	return authCodePairs(ctx, l, &c, l.base+"/oauth2/authorize", "/oauth2/token", clientID, "openid email")
}

// authCodePairs returns the worker maker of the measured pair: GET
// authorize (full URL; c carries the signed-in session and reads the
// redirect without following it) with a PKCE challenge, then POST the
// code and verifier to tokenPath with the load generator's plain client
// (no cookies, as a web app's back end) and check that the answer holds
// an access token and an ID token. It runs the pair once first (probe).
func authCodePairs(ctx context.Context, l *loader, c *http.Client, authorizeURL, tokenPath, clientID, scope string) (func(int) request, error) {
	verifier := randomHex(32)
	sum := sha256.Sum256([]byte(verifier))
	authorize := authorizeURL + "?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {authCodeRedirect},
		"scope": {scope}, "state": {"load"}, "nonce": {"load"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
	do := func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorize, nil)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return resp.StatusCode, nil
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return resp.StatusCode, fmt.Errorf("authorize: redirect: %w", err)
		}
		code := loc.Query().Get("code")
		if code == "" {
			return resp.StatusCode, fmt.Errorf("authorize: redirect to %s without a code (error %q)", loc.Path, loc.Query().Get("error"))
		}
		body := []byte(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {authCodeRedirect},
			"client_id": {clientID}, "code_verifier": {verifier}}.Encode())
		var tok struct {
			AccessToken string `json:"access_token"`
			IDToken     string `json:"id_token"`
		}
		st, err := l.call(ctx, http.MethodPost, tokenPath, "application/x-www-form-urlencoded", body, nil, &tok)
		if err == nil && st == http.StatusOK && (tok.AccessToken == "" || tok.IDToken == "") {
			return st, errors.New("code exchange without an access or ID token")
		}
		return st, err
	}
	return probe(ctx, "authorize + token", do)
}

// createWebClient creates the scenario's public, first-party client.
func (l *loader) createWebClient(ctx context.Context) (string, error) {
	created, st, err := l.postClient(ctx, map[string]any{"name": "sigil-load web app", "scopes": []string{}, "audience": "sigil-load",
		"redirectUris": []string{authCodeRedirect}, "grantTypes": []string{"authorization_code"}, "public": true, "firstParty": true})
	if err != nil {
		return "", err
	}
	if st == http.StatusBadRequest || st == http.StatusUnprocessableEntity {
		return "", fmt.Errorf("%w: the server has no authorization code clients (status %d)", errUnavailable, st)
	}
	if st != http.StatusCreated || created.ClientID == "" {
		return "", fmt.Errorf("create client: status %d", st)
	}
	return created.ClientID, nil
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([A-Za-z0-9_-]+)"`)

// signInHosted signs in through the hosted login page as a browser does:
// the page sets the CSRF cookie and carries its token, the form post
// repeats it and gets the session cookie. No Origin header is sent: the
// address loaded may not be the issuer's origin (a spawned Sigil's
// issuer names the port it was asked for).
func signInHosted(ctx context.Context, c *http.Client, base, email, password string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errUnavailable
	}
	m := csrfFieldRE.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return fmt.Errorf("GET /login: status %d, no CSRF token in the page", resp.StatusCode)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return fmt.Errorf("POST /login: status %d, want a redirect", resp.StatusCode)
	}
	return nil
}
