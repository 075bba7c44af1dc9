package githubconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sigil-auth/sigil/upstream"
)

// maxBody bounds every answer read from GitHub.
const maxBody = 1 << 20

// userAgent names Sigil to GitHub, which refuses requests without one.
const userAgent = "Sigil-upstream-sign-in"

// apiVersion is the REST API version the answers are parsed as.
const apiVersion = "2022-11-28"

// Connectors open connectors to GitHub.
type Connectors struct {
	client *http.Client
}

// New returns the connectors; every call to GitHub is bounded by timeout
// (besides the caller's context).
func New(timeout time.Duration) *Connectors {
	return &Connectors{client: &http.Client{Timeout: timeout,
		// The token and API endpoints answer directly; a redirect is
		// not followed with the client secret or the access token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// APIBase is the REST API's base URL of the GitHub at web base web:
// api.github.com for github.com, {web}/api/v3 for a GitHub Enterprise
// Server.
func APIBase(web string) string {
	web = strings.TrimRight(web, "/")
	if web == upstream.GitHubDotCom {
		return "https://api.github.com"
	}
	return web + "/api/v3"
}

// Open is an upstream.Opener for the type github. GitHub has no
// discovery document; when fresh is set (a sign-in starts) Open checks
// that the authorization endpoint answers, so that a GitHub that is
// down is seen before the browser is sent there. That check is a HEAD
// of a web page, outside the REST API's rate limit.
func (cs *Connectors) Open(ctx context.Context, u upstream.Upstream, secret, redirectURI string, fresh bool) (upstream.Connector, error) {
	web := strings.TrimRight(u.Issuer, "/")
	if web == "" {
		web = upstream.GitHubDotCom
	}
	c := &connector{client: cs.client, web: web, api: APIBase(web), clientID: u.ClientID, secret: secret,
		redirectURI: redirectURI, scopes: u.Scopes}
	if fresh {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, web+"/login/oauth/authorize", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", userAgent)
		resp, err := cs.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("github at %s: %w", web, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("github at %s answered %s", web, resp.Status)
		}
	}
	return c, nil
}

type connector struct {
	client           *http.Client
	web, api         string
	clientID, secret string
	redirectURI      string
	scopes           []string
}

// AuthURL ignores fresh: GitHub has no way to ask for a new sign-in
// (see the package documentation).
func (c *connector) AuthURL(state, _, challenge string, _ bool) string {
	q := url.Values{"client_id": {c.clientID}, "redirect_uri": {c.redirectURI}, "scope": {strings.Join(c.scopes, " ")},
		"state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	return c.web + "/login/oauth/authorize?" + q.Encode()
}

func rejected(format string, a ...any) error {
	return fmt.Errorf("%w: %s", upstream.ErrRejected, fmt.Sprintf(format, a...))
}

func unavailable(format string, a ...any) error {
	return fmt.Errorf("%w: %s", upstream.ErrUnavailable, fmt.Sprintf(format, a...))
}

// Finish redeems the code and reads the user and its emails. nonce is
// unused: GitHub has none; so is maxAge: GitHub does not say when the
// user signed in (see the package documentation).
func (c *connector) Finish(ctx context.Context, code, iss, verifier, _ string, _ time.Duration) (upstream.Claims, error) {
	switch {
	case iss != "" && iss != c.web:
		return upstream.Claims{}, rejected("callback iss %.200q is not the upstream's web base", iss)
	case code == "":
		return upstream.Claims{}, rejected("callback without a code")
	}
	token, err := c.exchange(ctx, code, verifier)
	if err != nil {
		return upstream.Claims{}, err
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := c.get(ctx, token, "/user", &user); err != nil {
		return upstream.Claims{}, err
	}
	if user.ID <= 0 {
		return upstream.Claims{}, rejected("GET /user without a user id")
	}
	cl := upstream.Claims{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	if cl.Name == "" {
		cl.Name = user.Login
	}
	var emails []Email
	if err := c.get(ctx, token, "/user/emails", &emails); err != nil {
		return upstream.Claims{}, err
	}
	cl.Email, cl.EmailVerified = PrimaryEmail(emails)
	return cl, nil
}

// Email is one of GET /user/emails.
type Email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// PrimaryEmail is the email GitHub vouches for: the primary one if
// GitHub verified it, else the primary one as unverified, else none.
// Another verified address is never taken: the user chose the primary.
func PrimaryEmail(emails []Email) (email string, verified bool) {
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			return e.Email, true
		}
	}
	for _, e := range emails {
		if e.Primary && e.Email != "" {
			return e.Email, false
		}
	}
	return "", false
}

// exchange redeems the code with the client secret and the PKCE
// verifier. GitHub answers an error with 200 and {"error": …}.
func (c *connector) exchange(ctx context.Context, code, verifier string) (string, error) {
	form := url.Values{"client_id": {c.clientID}, "client_secret": {c.secret}, "code": {code},
		"redirect_uri": {c.redirectURI}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.web+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return "", unavailable("token endpoint: %v", redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", unavailable("token endpoint: %v", err)
	}
	return ParseToken(resp.StatusCode, body)
}

// ParseToken reads the token endpoint's answer: the access token, or
// why there is none. An OAuth error (GitHub sends it with 200, or with
// a 4xx) is the upstream refusing the code; a 5xx is GitHub being
// unavailable; anything else that is not a bearer token did not verify.
func ParseToken(status int, body []byte) (string, error) {
	if status >= 500 {
		return "", unavailable("token endpoint answered %d", status)
	}
	if len(body) > maxBody {
		return "", rejected("token endpoint answer over %d bytes", maxBody)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", rejected("token endpoint answered %d, not JSON", status)
	}
	switch {
	case tr.Error != "":
		return "", fmt.Errorf("%w: token endpoint: %.100q", upstream.ErrRefused, tr.Error)
	case status != http.StatusOK:
		return "", rejected("token endpoint answered %d", status)
	case tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer"):
		return "", rejected("token endpoint answer without a bearer access token")
	}
	return tr.AccessToken, nil
}

// get reads path of the REST API into v with the access token.
func (c *connector) get(ctx context.Context, token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.client.Do(req)
	if err != nil {
		return unavailable("GET %s: %v", path, redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return unavailable("GET %s: %v", path, err)
	}
	return ParseAPI(path, resp.StatusCode, resp.Header, body, v)
}

// ParseAPI reads an answer of the REST API into v: a 5xx or a rate limit
// (403 or 429 with no requests left or a Retry-After) is GitHub being
// unavailable for now; any other status but 200, or a body that does
// not parse, did not verify.
func ParseAPI(path string, status int, h http.Header, body []byte, v any) error {
	switch {
	case status >= 500:
		return unavailable("GET %s answered %d", path, status)
	case (status == http.StatusForbidden || status == http.StatusTooManyRequests) &&
		(h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""):
		return unavailable("GET %s: rate limited (%d)", path, status)
	case status != http.StatusOK:
		return rejected("GET %s answered %d", path, status)
	case len(body) > maxBody:
		return rejected("GET %s answer over %d bytes", path, maxBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return rejected("GET %s: %v", path, err)
	}
	return nil
}

// redact drops the URL from a transport error: the URLs carry nothing
// secret, but the error stays short and the same for every attempt.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
