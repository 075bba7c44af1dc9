package authority

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Grant types a client may be given.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	// GrantDeviceCode is the device authorization grant (RFC 8628): a
	// command-line tool or a device without a browser shows a code the
	// user confirms on another screen.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// Limits on a client's redirect URIs.
const (
	MaxRedirectURIs     = 20
	MaxRedirectURIBytes = 2000
)

// validateClientFlow checks and fills in the browser-flow fields of a new
// client: its redirect URIs, post-logout redirect URIs, grant types and
// whether it may leave PKCE out.
func validateClientFlow(c *Client, in NewClient) error {
	if in.PKCEOptional && in.Public {
		return invalid("pkceOptional", "a public client must always use PKCE")
	}
	c.PKCEOptional = in.PKCEOptional
	var err error
	if c.RedirectURIs, err = validateRedirectURIs("redirectUris", in.RedirectURIs); err != nil {
		return err
	}
	if c.PostLogoutRedirectURIs, err = validateRedirectURIs("postLogoutRedirectUris", in.PostLogoutRedirectURIs); err != nil {
		return err
	}
	grants := in.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantClientCredentials}
		if len(c.RedirectURIs) > 0 {
			grants = []string{GrantAuthorizationCode, GrantRefreshToken}
		}
	}
	seen := map[string]bool{}
	for _, g := range grants {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode:
		default:
			return invalid("grantTypes", fmt.Sprintf("%q is not one of authorization_code, refresh_token, client_credentials, %s", g, GrantDeviceCode))
		}
		if !seen[g] {
			seen[g] = true
			c.GrantTypes = append(c.GrantTypes, g)
		}
	}
	slices.Sort(c.GrantTypes)
	switch {
	case seen[GrantAuthorizationCode] && len(c.RedirectURIs) == 0:
		return invalid("redirectUris", "the authorization_code grant needs at least one redirect URI")
	case !seen[GrantAuthorizationCode] && len(c.RedirectURIs) > 0:
		return invalid("grantTypes", "redirect URIs need the authorization_code grant")
	case c.Public && seen[GrantClientCredentials]:
		return invalid("grantTypes", "a public client has no secret and cannot use client_credentials")
	case c.Public && !seen[GrantAuthorizationCode] && !seen[GrantDeviceCode]:
		// A command-line tool with the device grant alone is public and
		// has no redirect URI: the user confirms on Sigil's own page.
		return invalid("public", "a public client needs the authorization_code or the device_code grant")
	}
	return nil
}

func validateRedirectURIs(field string, uris []string) ([]string, error) {
	if len(uris) > MaxRedirectURIs {
		return nil, invalid(field, fmt.Sprintf("at most %d", MaxRedirectURIs))
	}
	out := []string{}
	for _, u := range uris {
		if err := ValidateRedirectURI(u); err != nil {
			return nil, invalid(field, err.Error())
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// ValidateRedirectURI checks one redirect URI as registered: an absolute
// URI without fragment or wildcard; https, http for a loopback host only,
// or a private-use scheme of a native app (RFC 8252 §7.1: a reverse domain
// name such as com.example.app).
func ValidateRedirectURI(raw string) error {
	switch {
	case raw == "":
		return fmt.Errorf("a redirect URI must not be empty")
	case len(raw) > MaxRedirectURIBytes:
		return fmt.Errorf("a redirect URI must be at most %d bytes", MaxRedirectURIBytes)
	case !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%q contains spaces or control characters", raw)
	case strings.Contains(raw, "#"):
		return fmt.Errorf("%q has a fragment", raw)
	case strings.Contains(raw, "*"):
		return fmt.Errorf("%q has a wildcard; redirect URIs match exactly", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.User != nil {
			return fmt.Errorf("%q needs a host and no user information", raw)
		}
	case "http":
		if u.User != nil || !LoopbackHost(u.Hostname()) {
			return fmt.Errorf("%q: http is allowed only for loopback hosts (127.0.0.1, [::1], localhost)", raw)
		}
	case "javascript", "data", "file", "vbscript", "blob", "about", "ftp", "ws", "wss":
		return fmt.Errorf("%q: scheme %s is not allowed", raw, u.Scheme)
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: a native app's private-use scheme must be a reverse domain name such as com.example.app", raw)
		}
	}
	return nil
}

// LoopbackHost reports whether host is 127.0.0.1 (any 127/8 address),
// ::1 or localhost.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
