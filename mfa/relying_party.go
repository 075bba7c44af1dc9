package mfa

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// newRelyingParty builds go-webauthn's relying party from the settings.
func newRelyingParty(cfg Config) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("issuer %q has no host", cfg.Issuer)
	}
	rpID := cfg.WebAuthnRPID
	if rpID == "" {
		rpID = u.Hostname()
	}
	if net.ParseIP(rpID) != nil {
		return nil, &rpIPError{issuer: u}
	}
	origins := cfg.WebAuthnOrigins
	if len(origins) == 0 {
		origins = []string{u.Scheme + "://" + u.Host}
	}
	name := cfg.Product
	if name == "" {
		name = "Sigil"
	}
	return webauthn.New(&webauthn.Config{
		RPID: rpID, RPDisplayName: name, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation,
	})
}

// rpIPError is newRelyingParty's answer for a relying-party ID that is an
// IP address (the default issuer http://127.0.0.1:8080): browsers offer
// passkeys only to a domain name.
type rpIPError struct{ issuer *url.URL }

func (e *rpIPError) Error() string {
	return fmt.Sprintf("relying-party ID %q is an IP address; WebAuthn needs a host name", e.issuer.Hostname())
}

// advice says how to get passkeys: for a loopback address, the same
// issuer with the host localhost; else a host name for the server.
func (e *rpIPError) advice() string {
	if ip := net.ParseIP(e.issuer.Hostname()); ip == nil || !ip.IsLoopback() {
		return "set SIGIL_ISSUER to a URL with this server's host name"
	}
	u := *e.issuer
	u.Host = "localhost"
	if p := e.issuer.Port(); p != "" {
		u.Host += ":" + p
	}
	return "to offer them on this machine, set SIGIL_ISSUER=" + strings.TrimSuffix(u.String(), "/")
}
