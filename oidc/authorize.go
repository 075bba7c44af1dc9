package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sigil-auth/sigil/authority"
)

// OpenID Connect scopes, allowed to every client with the
// authorization_code grant (with authority.ScopeEmail and
// authority.ScopeRoles, which the core's tokens honour too).
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeOfflineAccess = "offline_access"
)

// oidcScopes are the scopes every authorization_code client may ask for
// (ScopeRoles too: a third-party client's token carries the user's roles
// only with it, and the consent page names it).
var oidcScopes = []string{ScopeOpenID, ScopeProfile, authority.ScopeEmail, ScopeOfflineAccess, authority.ScopeRoles}

// Limits on authorization request parameters.
const (
	MaxStateBytes     = 2048
	MaxNonceBytes     = 512
	MaxLoginHintBytes = authority.MaxEmailBytes
)

// AuthorizeRequest is a validated authorization request (OpenID Connect
// Core §3.1.2.1 with PKCE, RFC 7636).
type AuthorizeRequest struct {
	ClientID    string
	RedirectURI string
	// Scopes are sorted and without duplicates.
	Scopes        []string
	State         string
	Nonce         string
	CodeChallenge string
	// PromptNone, PromptLogin and PromptConsent are the prompt values.
	PromptNone    bool
	PromptLogin   bool
	PromptConsent bool
	// MaxAge is max_age in seconds, or -1 when absent.
	MaxAge    int
	LoginHint string
	// ACRValues are the acr_values the client asked for, in its order
	// (unknown values are kept and ignored).
	ACRValues []string
	// Resource is the resource indicator (RFC 8707) the access token is
	// for, empty for none; ParseAuthorize checks it is registered.
	Resource string
}

// The authentication context classes Sigil names in the acr claim and
// honours in acr_values: a sign-in with a password (or other single
// factor) and a sign-in with a second factor (amr contains "mfa").
const (
	ACRPassword = "urn:sigil:acr:pwd"
	ACRMFA      = "urn:sigil:acr:mfa"
)

// ACRValuesSupported is discovery's acr_values_supported.
var ACRValuesSupported = []string{ACRPassword, ACRMFA}

// wantsMFA reports whether the request asks for a sign-in with a second
// factor through acr_values.
func (r AuthorizeRequest) wantsMFA() bool { return slices.Contains(r.ACRValues, ACRMFA) }

// acrOf is the acr of a sign-in whose amr is amr.
func acrOf(amr []string) string {
	if slices.Contains(amr, "mfa") {
		return ACRMFA
	}
	return ACRPassword
}

// Scope returns the scopes space-separated.
func (r AuthorizeRequest) Scope() string { return strings.Join(r.Scopes, " ") }

// HasScope reports whether the request asks for scope.
func (r AuthorizeRequest) HasScope(scope string) bool { return slices.Contains(r.Scopes, scope) }

// AuthorizeError is an error of the authorization endpoint. When Redirect
// is false the client or its redirect URI cannot be trusted, and the error
// is shown to the user on a page; otherwise it goes back to RedirectURI
// with State.
type AuthorizeError struct {
	Code        string
	Description string
	Redirect    bool
	RedirectURI string
	State       string
}

func (e *AuthorizeError) Error() string { return e.Code + ": " + e.Description }

// ParseAuthorize validates an authorization request: first the client and
// its redirect URI (errors that must never redirect), then every other
// parameter (errors that go back to the client). Errors are
// *AuthorizeError, or ErrUnavailable when the database does not answer.
func (s *Service) ParseAuthorize(ctx context.Context, q url.Values) (AuthorizeRequest, authority.Client, error) {
	clientID, _, aerr := clientAndRedirect(q)
	if aerr != nil {
		return AuthorizeRequest{}, authority.Client{}, aerr
	}
	c, err := s.core.Client(ctx, clientID)
	if errors.Is(err, authority.ErrNotFound) {
		return AuthorizeRequest{}, authority.Client{}, &AuthorizeError{Code: "invalid_client", Description: "unknown client_id"}
	}
	if err != nil {
		return AuthorizeRequest{}, authority.Client{}, err
	}
	req, aerr := ParseAuthorizeParams(q, c)
	if aerr != nil {
		return AuthorizeRequest{}, c, aerr
	}
	if req.Resource != "" {
		if err := s.core.CheckResource(ctx, req.Resource); errors.Is(err, authority.ErrInvalidTarget) {
			return AuthorizeRequest{}, c, &AuthorizeError{Code: "invalid_target", Description: "the resource is not registered",
				Redirect: true, RedirectURI: req.RedirectURI, State: req.State}
		} else if err != nil {
			return AuthorizeRequest{}, c, err
		}
	}
	return req, c, nil
}

// clientAndRedirect reads client_id and redirect_uri, which must each be
// present once.
func clientAndRedirect(q url.Values) (string, string, *AuthorizeError) {
	page := func(desc string) *AuthorizeError { return &AuthorizeError{Code: "invalid_request", Description: desc} }
	switch {
	case len(q["client_id"]) == 0 || q.Get("client_id") == "":
		return "", "", page("client_id is required")
	case len(q["client_id"]) > 1:
		return "", "", page("client_id is repeated")
	case len(q["redirect_uri"]) == 0 || q.Get("redirect_uri") == "":
		return "", "", page("redirect_uri is required")
	case len(q["redirect_uri"]) > 1:
		return "", "", page("redirect_uri is repeated")
	}
	return q.Get("client_id"), q.Get("redirect_uri"), nil
}

// ParseAuthorizeParams validates an authorization request for client c.
// It is pure: everything it needs is in q and c.
func ParseAuthorizeParams(q url.Values, c authority.Client) (AuthorizeRequest, *AuthorizeError) {
	clientID, redirectURI, aerr := clientAndRedirect(q)
	if aerr != nil {
		return AuthorizeRequest{}, aerr
	}
	if clientID != c.ID {
		return AuthorizeRequest{}, &AuthorizeError{Code: "invalid_client", Description: "unknown client_id"}
	}
	if !RedirectRegistered(c.RedirectURIs, redirectURI) {
		return AuthorizeRequest{}, &AuthorizeError{Code: "invalid_request", Description: "redirect_uri is not registered for this client"}
	}
	state := q.Get("state")
	fail := func(code, desc string) (AuthorizeRequest, *AuthorizeError) {
		if len(state) > MaxStateBytes || !utf8.ValidString(state) {
			state = ""
		}
		return AuthorizeRequest{}, &AuthorizeError{Code: code, Description: desc, Redirect: true, RedirectURI: redirectURI, State: state}
	}
	resource, err := resourceParam(q)
	if err != nil {
		return fail("invalid_target", strings.TrimPrefix(err.Error(), authority.ErrInvalidTarget.Error()+": "))
	}
	for k, v := range q {
		if len(v) > 1 {
			return fail("invalid_request", "parameter "+strconv.Quote(k)+" is repeated")
		}
	}
	switch {
	case len(state) > MaxStateBytes || !utf8.ValidString(state):
		return fail("invalid_request", fmt.Sprintf("state must be valid UTF-8 of at most %d bytes", MaxStateBytes))
	case q.Has("request"):
		return fail("request_not_supported", "request objects are not supported")
	case q.Has("request_uri"):
		return fail("request_uri_not_supported", "request_uri is not supported")
	case q.Get("response_type") == "":
		return fail("invalid_request", "response_type is required")
	case q.Get("response_type") != "code":
		return fail("unsupported_response_type", "only response_type=code is supported")
	case q.Has("response_mode") && q.Get("response_mode") != "query":
		return fail("invalid_request", "only response_mode=query is supported")
	case !c.HasGrant(authority.GrantAuthorizationCode):
		return fail("unauthorized_client", "the client may not use the authorization code flow")
	}
	req := AuthorizeRequest{ClientID: c.ID, RedirectURI: redirectURI, State: state, MaxAge: -1, Resource: resource}

	scope := q.Get("scope")
	if scope == "" {
		scope = defaultScope(c)
	}
	scopes, err := authority.ParseScope(scope)
	if err != nil {
		return fail("invalid_scope", strings.TrimPrefix(err.Error(), authority.ErrInvalidScope.Error()+": "))
	}
	for _, sc := range scopes {
		// A client that registered itself may ask only for what it
		// registered (RFC 7591 scope); others for the OpenID Connect
		// scopes too.
		if (c.Registered() || !slices.Contains(oidcScopes, sc)) && !slices.Contains(c.Scopes, sc) {
			return fail("invalid_scope", fmt.Sprintf("scope %q is not allowed for this client", sc))
		}
	}
	req.Scopes = scopes

	req.Nonce = q.Get("nonce")
	if len(req.Nonce) > MaxNonceBytes || !utf8.ValidString(req.Nonce) {
		return fail("invalid_request", fmt.Sprintf("nonce must be valid UTF-8 of at most %d bytes", MaxNonceBytes))
	}

	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return fail("invalid_request", "code_challenge_method without code_challenge")
	case challenge == "" && c.Public:
		return fail("invalid_request", "a public client must use PKCE: code_challenge and code_challenge_method=S256 are required")
	case challenge == "" && !c.PKCEOptional:
		return fail("invalid_request", "PKCE is required: code_challenge and code_challenge_method=S256 (this client is not registered with pkceOptional)")
	case challenge != "" && method != "S256":
		return fail("invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
	case challenge != "" && !validChallenge(challenge):
		return fail("invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}
	req.CodeChallenge = challenge

	if p := q.Get("prompt"); p != "" {
		for _, v := range strings.Split(p, " ") {
			switch v {
			case "none":
				req.PromptNone = true
			case "login":
				req.PromptLogin = true
			case "consent":
				req.PromptConsent = true
			case "":
			default:
				return fail("invalid_request", fmt.Sprintf("prompt value %q is not supported (none, login, consent)", v))
			}
		}
		if req.PromptNone && (req.PromptLogin || req.PromptConsent) {
			return fail("invalid_request", "prompt=none cannot be combined with other values")
		}
	}
	if ma := q.Get("max_age"); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 || n > 1<<30 {
			return fail("invalid_request", "max_age must be a non-negative number of seconds")
		}
		req.MaxAge = n
	}
	if av := q.Get("acr_values"); av != "" {
		if len(av) > 1024 || !utf8.ValidString(av) {
			return fail("invalid_request", "acr_values is too long or not UTF-8")
		}
		req.ACRValues = strings.Fields(av)
	}
	req.LoginHint = q.Get("login_hint")
	if len(req.LoginHint) > MaxLoginHintBytes || !utf8.ValidString(req.LoginHint) || strings.IndexFunc(req.LoginHint, invisible) >= 0 {
		req.LoginHint = ""
	}
	return req, nil
}

// defaultScope is the scope of an authorization request that names none:
// the client's registered scopes (agents often send no scope and expect
// the registered ones), never authority.ScopeAdmin, which is only granted
// when asked for.
func defaultScope(c authority.Client) string {
	var out []string
	for _, sc := range c.Scopes {
		if sc != authority.ScopeAdmin {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " ")
}

// RedirectRegistered reports whether uri is one of the registered
// redirect URIs: exactly, or (RFC 8252 §7.3) as a loopback IP literal
// registered without a port (http://127.0.0.1/cb, http://[::1]/cb),
// which matches the same URI with any port, since a native app listens
// on whatever port the system gives it. Path and query still match
// exactly. "localhost" is not treated so: a name can resolve elsewhere
// (a hosts file, a resolver), and RFC 8252 §8.3 recommends the literal.
func RedirectRegistered(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		prefix := "http://" + host + ":"
		rest, ok := strings.CutPrefix(uri, prefix)
		if !ok {
			continue
		}
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if !validPort(rest[:end]) {
			return false
		}
		return slices.Contains(registered, "http://"+host+rest[end:])
	}
	return false
}

// validPort reports whether p is a port number without leading zeros.
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535 && strconv.Itoa(n) == p
}

// validChallenge reports whether s could be an S256 code challenge: 43
// base64url characters (RFC 7636 §4.2).
func validChallenge(s string) bool { return len(s) == 43 && authority.PlausibleToken(s) }

// AuthorizeStep is what an authorization request needs next.
type AuthorizeStep int

// The steps of an authorization request.
const (
	// StepLogin: show the sign-in page.
	StepLogin AuthorizeStep = iota
	// StepConsent: show the consent page.
	StepConsent
	// StepIssue: issue a code and redirect.
	StepIssue
)

// NextStep decides what an authorization request needs, given the
// browser's session (nil for none) and its user's account as it is now.
// fresh is set only when the session's sign-in happened for this very
// request (the sign-in post itself, or a page whose step ticket says so),
// which satisfies prompt=login and max_age. A prompt=none
// request that would need a page gets login_required or
// consent_required.
func (s *Service) NextStep(ctx context.Context, req AuthorizeRequest, c authority.Client, sess *BrowserSession, fresh bool) (AuthorizeStep, error) {
	redirectErr := func(code, desc string) error {
		return &AuthorizeError{Code: code, Description: desc, Redirect: true, RedirectURI: req.RedirectURI, State: req.State}
	}
	if sess == nil {
		if req.PromptNone {
			return 0, redirectErr("login_required", "the user is not signed in")
		}
		return StepLogin, nil
	}
	// The account as it is now (as read with the session, in this
	// request): a session of a deleted or locked user signs nobody in,
	// and the sign-in page says why.
	var u authority.User
	var err error
	if sess.user != nil && sess.user.ID == sess.UserID {
		u = *sess.user
	} else {
		u, err = s.store.UserByID(ctx, sess.UserID)
	}
	switch {
	case errors.Is(err, authority.ErrNotFound) || (err == nil && u.Locked):
		if req.PromptNone {
			return 0, redirectErr("login_required", "the user must sign in again")
		}
		return StepLogin, nil
	case err != nil:
		return 0, err
	}
	if !fresh {
		tooOld := req.MaxAge >= 0 && s.now().Sub(sess.AuthTime) > time.Duration(req.MaxAge)*time.Second
		if req.PromptLogin || tooOld {
			if req.PromptNone {
				return 0, redirectErr("login_required", "the user must sign in again")
			}
			return StepLogin, nil
		}
	}
	if (c.RequireMFA || req.wantsMFA()) && !slices.Contains(sess.AMR, "mfa") {
		f, err := s.store.UserFactors(ctx, sess.UserID)
		if err != nil {
			return 0, err
		}
		switch {
		case !f.Any() && c.RequireMFA:
			return 0, redirectErr("access_denied", "this client requires a second factor and the user has none enrolled")
		case !f.Any():
			// acr_values is a request, not a demand: a user without a
			// second factor goes on, and the ID token's acr says so.
		case req.PromptNone:
			return 0, redirectErr("login_required", "this client requires a sign-in with a second factor")
		default:
			return StepLogin, nil
		}
	}
	if !s.core.MFASatisfied(u, sess.AMR) {
		// A role that needs a second factor, granted after this
		// session's password-only sign-in: the code would be refused at
		// the token endpoint, so sign in again (with the factor, or its
		// enrolment) first.
		if req.PromptNone {
			return 0, redirectErr("login_required", "the user's roles require a sign-in with a second factor")
		}
		return StepLogin, nil
	}
	need, err := s.needsConsent(ctx, sess.UserID, c, req)
	if err != nil {
		return 0, err
	}
	if need {
		if req.PromptNone {
			return 0, redirectErr("consent_required", "the user has not consented to this client's request")
		}
		return StepConsent, nil
	}
	return StepIssue, nil
}

// invisible reports whether r is a control or format character, which a
// login hint (shown on the sign-in page) may not carry.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}
