package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Scenarios, in the order "all" runs them.
var scenarioNames = []string{"jwks", "jwks304", "login", "refresh", "client_credentials", "me"}

// errUnavailable marks a scenario whose endpoint this server does not
// have (404 or 405), so it is reported as not measured rather than as
// errors.
var errUnavailable = errors.New("endpoint not available on this server")

// loader holds what the scenarios share: the target, one HTTP client, the
// test user and the client credentials.
type loader struct {
	base   string
	client *http.Client

	email, password string
	accessToken     string
	alg             string // the alg in the header of the access token

	clientID, clientSecret string
	adminEmail, adminPass  string
	resource               string // -resource: the resource server of the resource scenario

	// web is the signed-in browser session of a -peer target, set up
	// once for its authorization code flow; nil for a Sigil.
	web *peerWeb

	// peers are the other instances of a -addr list: the same user and
	// client, load spread over them worker by worker.
	peers []*loader
}

// prepareAll prepares a scenario on l and on each of its peers, and gives
// worker i the target i modulo the number of targets.
func prepareAll(ctx context.Context, l *loader, sc scenario, c int) (func(int) request, error) {
	mk, err := sc.prepare(ctx, l, c)
	if err != nil || len(l.peers) == 0 {
		return mk, err
	}
	mks := []func(int) request{mk}
	for _, p := range l.peers {
		p.email, p.password, p.accessToken, p.alg = l.email, l.password, l.accessToken, l.alg
		p.clientID, p.clientSecret = l.clientID, l.clientSecret
		m, err := sc.prepare(ctx, p, c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.base, err)
		}
		mks = append(mks, m)
	}
	return func(i int) request { return mks[i%len(mks)](i) }, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// call sends one request and reads the whole answer (so the connection is
// reused). into, if not nil, receives the JSON body of a 2xx answer.
func (l *loader) call(ctx context.Context, method, path, ctype string, body []byte, hdr http.Header, into any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// retrying repeats a set-up call while the server answers 429 or 503 (rate
// limit, overload), for at most a minute, honouring Retry-After.
func retrying(ctx context.Context, f func() (int, error)) (int, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := f()
		if err != nil || (st != http.StatusTooManyRequests && st != http.StatusServiceUnavailable) || time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type tokenAnswer struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refreshToken"`
	AccessToken  string `json:"access_token"`
}

// setup signs up a fresh user and logs in, through the API.
func (l *loader) setup(ctx context.Context) error {
	l.email = "load-" + randomHex(6) + "@example.com"
	l.password = randomHex(16)
	body, _ := json.Marshal(map[string]string{"email": l.email, "password": l.password, "name": "Load Generator"})
	st, err := retrying(ctx, func() (int, error) {
		return l.call(ctx, http.MethodPost, "/auth/signup", "application/json", body, nil, nil)
	})
	if err != nil {
		return fmt.Errorf("sign up: %w", err)
	}
	if st != http.StatusCreated {
		return fmt.Errorf("sign up: status %d (is this a Sigil, and is SIGIL_RATE_LIMIT high enough?)", st)
	}
	tok, err := l.login(ctx, l.email, l.password)
	if err != nil {
		return err
	}
	l.accessToken = tok.Token
	l.alg = tokenAlg(tok.Token)
	return nil
}

var clientCredentialsBody = []byte(url.Values{"grant_type": {"client_credentials"}}.Encode())

// basicAuth is the client_secret_basic Authorization value (RFC 6749
// §2.3.1: both halves form-encoded).
func (l *loader) basicAuth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(l.clientID)+":"+url.QueryEscape(l.clientSecret)))
}

func (l *loader) login(ctx context.Context, email, password string) (tokenAnswer, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	var tok tokenAnswer
	st, err := retrying(ctx, func() (int, error) {
		return l.call(ctx, http.MethodPost, "/auth/login", "application/json", body, nil, &tok)
	})
	if err != nil {
		return tok, fmt.Errorf("log in: %w", err)
	}
	if st != http.StatusOK || tok.Token == "" {
		return tok, fmt.Errorf("log in: status %d", st)
	}
	return tok, nil
}

// tokenAlg reads the alg from a compact JWS header.
func tokenAlg(tok string) string {
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Alg
}

// scenario is a named load: the status a success answers with, and a
// prepare step that returns the per-worker request makers.
type scenario struct {
	want    int
	prepare func(ctx context.Context, l *loader, conc int) (func(i int) request, error)
}

var scenarios = map[string]scenario{
	"jwks": {http.StatusOK, func(ctx context.Context, l *loader, conc int) (func(int) request, error) {
		return func(int) request {
			return func(ctx context.Context) (int, error) {
				return l.call(ctx, http.MethodGet, "/.well-known/jwks.json", "", nil, nil, nil)
			}
		}, nil
	}},
	"jwks304": {http.StatusNotModified, func(ctx context.Context, l *loader, conc int) (func(int) request, error) {
		etag, err := l.jwksETag(ctx)
		if err != nil {
			return nil, err
		}
		hdr := http.Header{"If-None-Match": {etag}}
		return func(int) request {
			return func(ctx context.Context) (int, error) {
				return l.call(ctx, http.MethodGet, "/.well-known/jwks.json", "", nil, hdr, nil)
			}
		}, nil
	}},
	"login": {http.StatusOK, func(ctx context.Context, l *loader, conc int) (func(int) request, error) {
		body, _ := json.Marshal(map[string]string{"email": l.email, "password": l.password})
		return func(int) request {
			return func(ctx context.Context) (int, error) {
				return l.call(ctx, http.MethodPost, "/auth/login", "application/json", body, nil, nil)
			}
		}, nil
	}},
	"me": {http.StatusOK, func(ctx context.Context, l *loader, conc int) (func(int) request, error) {
		hdr := http.Header{"Authorization": {"Bearer " + l.accessToken}}
		return func(int) request {
			return func(ctx context.Context) (int, error) {
				return l.call(ctx, http.MethodGet, "/auth/me", "", nil, hdr, nil)
			}
		}, nil
	}},
	"refresh":            {http.StatusOK, prepareRefresh},
	"client_credentials": {http.StatusOK, prepareClientCredentials},
	"introspect":         {http.StatusOK, prepareIntrospect},
	"authcode":           {http.StatusOK, prepareAuthCode},
	"loginpage":          {http.StatusSeeOther, prepareLoginPage},
	"loginpage-post":     {http.StatusSeeOther, prepareLoginPagePost},
}

// extraScenarios can be named with -scenario but are not part of "all".
var extraScenarios = []string{"introspect", "authcode", "loginpage", "loginpage-post"}

func (l *loader) jwksETag(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+"/.well-known/jwks.json", nil)
	if err != nil {
		return "", err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		return "", fmt.Errorf("JWKS: status %d, ETag %q", resp.StatusCode, etag)
	}
	return etag, nil
}

// prepareRefresh gives every worker a refresh-token family of its own (one
// login each) and checks once that /auth/refresh exists. Each request
// spends the worker's token and keeps the new one.
func prepareRefresh(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	tokens := make([]string, conc)
	errs := make([]error, conc)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			tok, err := l.login(ctx, l.email, l.password)
			tokens[i], errs[i] = tok.RefreshToken, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	spend := func(ctx context.Context, i int) (int, error) {
		body, _ := json.Marshal(map[string]string{"refreshToken": tokens[i]})
		var tok tokenAnswer
		st, err := l.call(ctx, http.MethodPost, "/auth/refresh", "application/json", body, nil, &tok)
		if err == nil && st == http.StatusOK {
			if tok.RefreshToken == "" {
				return st, errors.New("refresh answer without refreshToken")
			}
			tokens[i] = tok.RefreshToken
		}
		return st, err
	}
	st, err := spend(ctx, 0)
	if err != nil {
		return nil, err
	}
	if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
		return nil, errUnavailable
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("probe POST /auth/refresh: status %d", st)
	}
	return func(i int) request {
		return func(ctx context.Context) (int, error) { return spend(ctx, i) }
	}, nil
}

// prepareClientCredentials uses -client-id/-client-secret, or creates a
// client through the admin API when admin credentials are known, and checks
// once that /oauth2/token exists.
func prepareClientCredentials(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	if l.clientID == "" {
		if l.adminEmail == "" {
			return nil, errors.New("needs -client-id and -client-secret (or -admin-email/-admin-password to create a client)")
		}
		if err := l.createClient(ctx); err != nil {
			return nil, err
		}
	}
	hdr := http.Header{"Authorization": {l.basicAuth()}}
	do := func(ctx context.Context) (int, error) {
		var tok tokenAnswer
		st, err := l.call(ctx, http.MethodPost, "/oauth2/token", "application/x-www-form-urlencoded", clientCredentialsBody, hdr, &tok)
		if err == nil && st == http.StatusOK && tok.AccessToken == "" {
			return st, errors.New("token answer without access_token")
		}
		return st, err
	}
	return probe(ctx, "POST /oauth2/token", do)
}

// prepareIntrospect has a client (as client_credentials does) introspect
// an access token at /oauth2/introspect (RFC 7662), and checks the answer
// says active. The token is one the client was issued itself
// (client_credentials): a client learns only about tokens issued to it or
// meant for its audience, and the load user's token is for Sigil's.
func prepareIntrospect(ctx context.Context, l *loader, conc int) (func(int) request, error) {
	if l.clientID == "" {
		if l.adminEmail == "" {
			return nil, errors.New("needs -client-id and -client-secret (or -admin-email/-admin-password to create a client)")
		}
		if err := l.createClient(ctx); err != nil {
			return nil, err
		}
	}
	hdr := http.Header{"Authorization": {l.basicAuth()}}
	var tok tokenAnswer
	st, err := l.call(ctx, http.MethodPost, "/oauth2/token", "application/x-www-form-urlencoded", clientCredentialsBody, hdr, &tok)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK || tok.AccessToken == "" {
		return nil, fmt.Errorf("client_credentials token to introspect: status %d", st)
	}
	body := []byte(url.Values{"token": {tok.AccessToken}}.Encode())
	do := func(ctx context.Context) (int, error) {
		var ans struct {
			Active bool `json:"active"`
		}
		st, err := l.call(ctx, http.MethodPost, "/oauth2/introspect", "application/x-www-form-urlencoded", body, hdr, &ans)
		if err == nil && st == http.StatusOK && !ans.Active {
			return st, errors.New("introspection says the client's own token is inactive")
		}
		return st, err
	}
	return probe(ctx, "POST /oauth2/introspect", do)
}

// probe runs a scenario's request once before the load: an endpoint the
// server lacks (404, 405) makes the scenario unavailable, any other
// answer than 200 fails its set-up. On 200 it returns the worker maker
// that repeats the request.
func probe(ctx context.Context, what string, do request) (func(int) request, error) {
	st, err := do(ctx)
	if err != nil {
		return nil, err
	}
	if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
		return nil, errUnavailable
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("probe %s: status %d", what, st)
	}
	return func(int) request { return do }, nil
}

// createClient logs in as the administrator and creates the confidential
// client of client_credentials and introspection with POST /admin/clients.
func (l *loader) createClient(ctx context.Context) error {
	// scopes as a list; a server that takes a space-separated string
	// refuses that shape, so try the string next.
	created, st, err := l.postClient(ctx,
		map[string]any{"name": "sigil-load", "scopes": []string{}, "audience": "sigil-load"},
		map[string]any{"name": "sigil-load", "scopes": "", "audience": "sigil-load"})
	if err != nil {
		return err
	}
	if st != http.StatusCreated || created.ClientID == "" || created.ClientSecret == "" {
		return fmt.Errorf("create client: status %d", st)
	}
	l.clientID, l.clientSecret = created.ClientID, created.ClientSecret
	return nil
}

type createdClient struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// postClient logs in as the administrator and posts each body in turn to
// POST /admin/clients until one is not refused as malformed (400, 422),
// returning that answer; a server without the route is errUnavailable.
func (l *loader) postClient(ctx context.Context, bodies ...map[string]any) (createdClient, int, error) {
	admin, err := l.login(ctx, l.adminEmail, l.adminPass)
	if err != nil {
		return createdClient{}, 0, fmt.Errorf("admin %w", err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + admin.Token}}
	var created createdClient
	var st int
	for _, b := range bodies {
		body, _ := json.Marshal(b)
		st, err = l.call(ctx, http.MethodPost, "/admin/clients", "application/json", body, hdr, &created)
		if err != nil {
			return createdClient{}, st, fmt.Errorf("create client: %w", err)
		}
		if st != http.StatusBadRequest && st != http.StatusUnprocessableEntity {
			break
		}
	}
	if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
		return createdClient{}, st, errUnavailable
	}
	return created, st, nil
}

// prepareStatic returns the worker maker of a scenario that needs no
// set-up (jwks).
func (s scenario) prepareStatic(l *loader) func(int) request {
	mk, err := s.prepare(context.Background(), l, 1)
	if err != nil {
		panic(err) // jwks needs no set-up and cannot fail to prepare
	}
	return mk
}
