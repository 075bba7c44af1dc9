package api

import (
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sigil-auth/sigil/authority"
	"github.com/sigil-auth/sigil/oidc"
)

// oauthError is an RFC 6749 §5.2 error answer. /oauth2/* never answers
// with problem+json: OAuth 2.0 client libraries read {"error",
// "error_description"}.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oauthInvalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

var errOAuthClient = &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}

// oauthErrorFor maps a domain error to its RFC 6749 error: the one place
// for /oauth2/*, as problemFor is for the rest.
func oauthErrorFor(err error) *oauthError {
	var oe *oauthError
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, authority.ErrInvalidClient):
		return errOAuthClient
	case errors.Is(err, oidc.ErrAuthorizationPending):
		return &oauthError{http.StatusBadRequest, "authorization_pending", "the user has not confirmed the request yet"}
	case errors.Is(err, oidc.ErrSlowDown):
		return &oauthError{http.StatusBadRequest, "slow_down", "polled faster than the interval; add 5 seconds to it"}
	case errors.Is(err, oidc.ErrAccessDenied):
		return &oauthError{http.StatusBadRequest, "access_denied", "the user denied the request"}
	case errors.Is(err, oidc.ErrExpiredToken):
		return &oauthError{http.StatusBadRequest, "expired_token", "the device code has expired; start again"}
	case errors.Is(err, authority.ErrInvalidGrant):
		return &oauthError{http.StatusBadRequest, "invalid_grant", grantDescription(err)}
	case errors.Is(err, authority.ErrInvalidScope):
		return &oauthError{http.StatusBadRequest, "invalid_scope", strings.TrimPrefix(err.Error(), authority.ErrInvalidScope.Error()+": ")}
	case errors.Is(err, authority.ErrInvalidTarget):
		return &oauthError{http.StatusBadRequest, "invalid_target", strings.TrimPrefix(err.Error(), authority.ErrInvalidTarget.Error()+": ")}
	case errors.Is(err, authority.ErrUnauthorizedClient):
		return &oauthError{http.StatusBadRequest, "unauthorized_client", err.Error()}
	case errors.Is(err, oidc.ErrInvalidClientMetadata):
		return &oauthError{http.StatusBadRequest, "invalid_client_metadata", strings.TrimPrefix(err.Error(), oidc.ErrInvalidClientMetadata.Error()+": ")}
	case errors.Is(err, oidc.ErrInvalidRedirectURI):
		return &oauthError{http.StatusBadRequest, "invalid_redirect_uri", strings.TrimPrefix(err.Error(), oidc.ErrInvalidRedirectURI.Error()+": ")}
	case errors.Is(err, oidc.ErrInvalidRegistrationToken):
		// RFC 6750 §3.1, for the initial access token (RFC 7591 §3) and
		// the registration access token (RFC 7592 §3) alike.
		return &oauthError{http.StatusUnauthorized, "invalid_token", "the registration token is unknown, expired, used up or not this client's"}
	case errors.Is(err, authority.ErrThrottled):
		// RFC 6749 defines no rate-limit error for the token endpoint;
		// temporarily_unavailable is the code OAuth client libraries
		// already parse as "retry later", and the 429 with Retry-After
		// says when.
		return &oauthError{http.StatusTooManyRequests, "temporarily_unavailable", "too many requests from this client; retry after the number of seconds in Retry-After"}
	case errors.Is(err, authority.ErrUnavailable):
		return &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "the authority cannot reach its database; retry shortly"}
	}
	return &oauthError{http.StatusInternalServerError, "server_error", "the request could not be completed"}
}

// grantDescription is the error_description of an invalid_grant: the
// domain's reason, which names no secret.
func grantDescription(err error) string {
	if d := strings.TrimPrefix(err.Error(), authority.ErrInvalidGrant.Error()+": "); d != err.Error() {
		return d
	}
	return "the grant is invalid, expired, spent or revoked, or was issued to another client"
}

// writeOAuthError answers with an RFC 6749 error. invalid_client after an
// attempt with HTTP Basic carries WWW-Authenticate: Basic (§5.2).
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error, basic bool) {
	oe := oauthErrorFor(err)
	if oe.status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", requestID(r.Context())), slog.String("err", err.Error()))
	}
	h := w.Header()
	noStore(w)
	if oe.status == http.StatusUnauthorized && basic {
		h.Set("WWW-Authenticate", `Basic realm="sigil", charset="UTF-8"`)
	}
	if oe.code == "invalid_token" {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	switch oe.status {
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(5))
	case http.StatusTooManyRequests:
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
}

// readForm reads an application/x-www-form-urlencoded body of at most
// 64 KiB. Parameters in the URL are ignored, so secrets are only read from
// the body; a parameter given twice is invalid_request (RFC 6749 §3.2).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "use POST"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthInvalidRequest("the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &oauthError{http.StatusRequestEntityTooLarge, "invalid_request", "the request body must be at most 64 KiB"}
		}
		return nil, oauthInvalidRequest("the request body could not be read")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauthInvalidRequest("the body is not valid form encoding")
	}
	for k, v := range form {
		if len(v) > 1 && k == "resource" {
			// RFC 8707 allows several; Sigil issues a token for one
			// audience, so asking for more is invalid_target.
			return nil, &oauthError{http.StatusBadRequest, "invalid_target", "only one resource per request is supported"}
		}
		if len(v) > 1 {
			return nil, oauthInvalidRequest("parameter " + strconvQuote(k) + " is repeated")
		}
	}
	return form, nil
}

// caller is the client behind an /oauth2/* request.
type caller struct {
	// id is the client id: a confidential client's, or the login client's
	// for a public request.
	id     string
	client authority.Client
	// public is set for the login client, which has no secret: by
	// client_id alone or with no client identification at all.
	public bool
	// anonymous is set when the request named no client at all.
	anonymous bool
	// basic is set when the request used HTTP Basic authentication.
	basic bool
}

// authenticateClient identifies the client of an /oauth2/* request:
// client_secret_basic (the id and secret form-urlencoded, then Basic, as
// RFC 6749 §2.3.1 says), client_secret_post, or none for the public login
// client. Using both Basic and client_secret is invalid_request.
// clientRequest reads an /oauth2/* form and authenticates its client,
// answering the RFC 6749 error itself when either fails (ok is then false).
// allowPublic admits the public login client, which has no secret.
func (s *Server) clientRequest(w http.ResponseWriter, r *http.Request, allowPublic bool) (url.Values, caller, bool) {
	form, err := readForm(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err, false)
		return nil, caller{}, false
	}
	who, err := s.authenticateClient(r, form)
	if err == nil && who.public && !allowPublic {
		err = errOAuthClient
	}
	if err != nil {
		s.writeOAuthError(w, r, err, who.basic)
		return nil, caller{}, false
	}
	return form, who, true
}

// tokenRequest is clientRequest for the endpoints that act on one token
// (revocation, introspection): it also requires the token parameter.
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request, allowPublic bool) (string, caller, bool) {
	form, who, ok := s.clientRequest(w, r, allowPublic)
	if !ok {
		return "", who, false
	}
	tok := form.Get("token")
	if tok == "" {
		s.writeOAuthError(w, r, oauthInvalidRequest("token is required"), who.basic)
		return "", who, false
	}
	return tok, who, true
}

func (s *Server) authenticateClient(r *http.Request, form url.Values) (caller, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return caller{basic: true}, errOAuthClient
		}
		if form.Has("client_secret") {
			return caller{basic: true}, oauthInvalidRequest("use one client authentication method: HTTP Basic or client_secret, not both")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return caller{basic: true}, errOAuthClient
		}
		rawID, rawSecret, ok := strings.Cut(string(raw), ":")
		id, err1 := url.QueryUnescape(rawID)
		secret, err2 := url.QueryUnescape(rawSecret)
		if !ok || err1 != nil || err2 != nil {
			return caller{basic: true}, errOAuthClient
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return caller{basic: true}, oauthInvalidRequest("client_id differs from the client authenticated with HTTP Basic")
		}
		c, err := s.auth.AuthenticateClient(r.Context(), id, secret)
		return caller{id: c.ID, client: c, basic: true}, err
	}
	id := form.Get("client_id")
	if form.Has("client_secret") {
		if id == "" {
			return caller{}, oauthInvalidRequest("client_secret needs client_id")
		}
		c, err := s.auth.AuthenticateClient(r.Context(), id, form.Get("client_secret"))
		return caller{id: c.ID, client: c}, err
	}
	login := s.auth.Config().LoginClientID
	if id == "" || id == login {
		return caller{id: login, public: true, anonymous: id == ""}, nil
	}
	// A registered public client names itself; a confidential client
	// that sent no secret fails.
	c, err := s.auth.PublicClient(r.Context(), id)
	if err != nil {
		return caller{}, err
	}
	return caller{id: c.ID, client: c, public: true}, nil
}

// tokenAnswer is a successful token response (RFC 6749 §5.1).
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// handleToken is the token endpoint: grant_type=authorization_code for
// clients of the browser flow (confidential, or public with PKCE),
// grant_type=client_credentials for confidential clients,
// grant_type=refresh_token for the client a refresh token was issued to
// (the public login client for tokens from /auth/login), and the device
// code grant (RFC 8628) for clients that have it. Every grant takes
// one resource indicator (RFC 8707), the audience of the token it issues.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, who, ok := s.clientRequest(w, r, true)
	if !ok {
		return
	}
	var (
		ans tokenAnswer
		err error
	)
	switch form.Get("grant_type") {
	case "":
		err = oauthInvalidRequest("grant_type is required")
	case "client_credentials":
		if who.anonymous {
			err = errOAuthClient
			break
		}
		if who.public {
			err = &oauthError{http.StatusBadRequest, "unauthorized_client", "the public client " + who.id + " may not use client_credentials; authenticate as a confidential client"}
			break
		}
		var t authority.ClientToken
		t, err = s.auth.ClientCredentials(r.Context(), who.client, form.Get("scope"), form.Get("resource"))
		ans = tokenAnswer{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn, Scope: t.Scope}
	case "refresh_token":
		rt := form.Get("refresh_token")
		if rt == "" {
			err = oauthInvalidRequest("refresh_token is required")
			break
		}
		var p authority.TokenPair
		p, err = s.auth.Refresh(r.Context(), rt, who.id, form.Get("scope"), form.Get("resource"), s.meta(r))
		ans = tokenAnswer{AccessToken: p.AccessToken, TokenType: "Bearer", ExpiresIn: p.ExpiresIn, Scope: p.Scope, RefreshToken: p.RefreshToken}
	case "authorization_code":
		if who.anonymous {
			err = errOAuthClient
			break
		}
		code, redirect := form.Get("code"), form.Get("redirect_uri")
		if code == "" || redirect == "" {
			err = oauthInvalidRequest("code and redirect_uri are required")
			break
		}
		var t oidc.CodeTokens
		t, err = s.oidc.ExchangeCode(r.Context(), who.client, code, redirect, form.Get("code_verifier"), form.Get("resource"), s.meta(r))
		ans = tokenAnswer{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn, Scope: t.Scope, RefreshToken: t.RefreshToken, IDToken: t.IDToken}
	case authority.GrantDeviceCode:
		ans, err = s.deviceToken(r, who, form.Get("device_code"), form.Get("resource"))
	default:
		err = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "supported grant types: authorization_code, client_credentials, refresh_token, " + authority.GrantDeviceCode}
	}
	if err != nil {
		s.writeOAuthError(w, r, err, who.basic)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, ans)
}

// handleRevoke is RFC 7009 revocation: a refresh token's family, or an
// access token's jti until it expires. A token that is unknown, invalid or
// another client's gets 200 like any other.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	tok, who, ok := s.tokenRequest(w, r, true)
	if !ok {
		return
	}
	if err := s.auth.Revoke(r.Context(), who.id, tok, s.meta(r)); err != nil {
		s.writeOAuthError(w, r, err, who.basic)
		return
	}
	noStore(w)
	w.WriteHeader(http.StatusOK)
}

// handleIntrospect is RFC 7662 introspection, for confidential clients
// only (a resource server holding client credentials), about the tokens
// meant for or issued to the caller; it is rate-limited per client
// address like the token endpoint.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	tok, who, ok := s.tokenRequest(w, r, false)
	if !ok {
		return
	}
	in, err := s.auth.Introspect(r.Context(), who.client, tok)
	if err != nil {
		s.writeOAuthError(w, r, err, who.basic)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, in)
}
