package api

import (
	"net/http"
	"strings"
)

// deviceAnswer is the device authorization response (RFC 8628 §3.2).
type deviceAnswer struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// handleDeviceAuthorization is the device authorization endpoint (RFC
// 8628 §3.1): a client with the device grant (a public one by client_id,
// a confidential one authenticated as at the token endpoint) asks for a
// device code and a user code, for scope and one resource.
func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, who, ok := s.clientRequest(w, r, true)
	if !ok {
		return
	}
	if who.anonymous {
		s.writeOAuthError(w, r, errOAuthClient, who.basic)
		return
	}
	if s.oidc == nil {
		s.writeOAuthError(w, r, &oauthError{http.StatusNotFound, "invalid_request", "the device grant is not served"}, who.basic)
		return
	}
	start, err := s.oidc.StartDevice(r.Context(), who.client, form.Get("scope"), form.Get("resource"), s.meta(r))
	if err != nil {
		s.writeOAuthError(w, r, err, who.basic)
		return
	}
	verify := strings.TrimRight(s.cfg.Issuer, "/") + "/device"
	noStore(w)
	writeJSON(w, http.StatusOK, deviceAnswer{
		DeviceCode: start.DeviceCode, UserCode: start.UserCode,
		VerificationURI: verify, VerificationURIComplete: verify + "?user_code=" + start.UserCode,
		ExpiresIn: start.ExpiresIn, Interval: start.Interval,
	})
}

// deviceToken is the token endpoint's device_code grant (RFC 8628 §3.4).
func (s *Server) deviceToken(r *http.Request, who caller, deviceCode, resource string) (tokenAnswer, error) {
	if who.anonymous {
		return tokenAnswer{}, errOAuthClient
	}
	if deviceCode == "" {
		return tokenAnswer{}, oauthInvalidRequest("device_code is required")
	}
	if s.oidc == nil {
		return tokenAnswer{}, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "the device grant is not served"}
	}
	t, err := s.oidc.PollDevice(r.Context(), who.client, deviceCode, resource)
	return tokenAnswer{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn, Scope: t.Scope, RefreshToken: t.RefreshToken, IDToken: t.IDToken}, err
}
