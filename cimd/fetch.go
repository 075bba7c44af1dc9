package cimd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits of a document fetch.
const (
	fetchTimeout = 5 * time.Second
	maxDocument  = 5 << 10
)

// errForbiddenAddress refuses a connection to an address that is not a
// public unicast one.
var errForbiddenAddress = errors.New("the document's host resolves to a private, loopback or otherwise non-public address")

// publicAddress reports whether ip is a public unicast address.
func publicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() &&
		!ip.IsMulticast() && !ip.IsUnspecified() && !ip.IsInterfaceLocalMulticast() && !sharedOrReserved(ip)
}

// sharedOrReserved covers what netip does not name: carrier-grade NAT
// (100.64.0.0/10), benchmarking (198.18.0.0/15), the IPv4 reserved and
// documentation ranges, and IPv6 unique-local, documentation, NAT64 and
// discard prefixes.
func sharedOrReserved(ip netip.Addr) bool {
	for _, p := range reserved {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

var reserved = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32", "fc00::/7", "2001:db8::/32", "64:ff9b::/96", "100::/64"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// newHTTPClient is the client documents are fetched with: it dials only
// public addresses (loopback too when allowLoopback, for tests), checks
// the address actually connected to rather than a name, follows no
// redirect, and gives up after fetchTimeout.
func newHTTPClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{Timeout: fetchTimeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if publicAddress(ap.Addr()) || (allowLoopback && ap.Addr().Unmap().IsLoopback()) {
			return nil
		}
		return errForbiddenAddress
	}}
	transport := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: fetchTimeout,
		ResponseHeaderTimeout: fetchTimeout, MaxIdleConns: 16, IdleConnTimeout: 90 * time.Second, Proxy: nil}
	return &http.Client{Transport: transport, Timeout: fetchTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fetch GETs the document at u and returns its body and how long it may
// be cached.
func (s *Service) fetch(ctx context.Context, u string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("the document answered %d (redirects are not followed)", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, 0, fmt.Errorf("the document is %s, not application/json", ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxDocument {
		return nil, 0, fmt.Errorf("the document is larger than %d bytes", maxDocument)
	}
	return body, maxAge(resp.Header), nil
}

// maxAge is how long an answer may be cached: its Cache-Control max-age
// (no-store and no-cache count as none), within [minCache, maxCache].
func maxAge(h http.Header) time.Duration {
	d := defaultCache
	for part := range strings.SplitSeq(h.Get("Cache-Control"), ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		switch {
		case part == "no-store" || part == "no-cache":
			d = minCache
		case strings.HasPrefix(part, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(part, "max-age=")); err == nil && n >= 0 {
				d = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(d, minCache), maxCache)
}
