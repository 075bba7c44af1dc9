package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// target is the Sigil under load: a base URL whose host resolved only to
// loopback addresses, and the address every connection is dialled to.
type target struct {
	base string         // http://host:port
	dial netip.AddrPort // the checked address connections go to
}

// lookupFunc resolves a host name, as net.Resolver.LookupNetIP does.
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func systemLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// isLoopback accepts 127.0.0.0/8 and ::1 (an IPv4-mapped 127.x address is
// the same IPv4 address).
func isLoopback(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		return a.As4()[0] == 127
	}
	return a == netip.IPv6Loopback()
}

// resolveTarget parses addr (HOST:PORT or http://HOST:PORT), resolves the
// host and refuses it unless every address it resolves to is loopback: the
// load generator must never be pointed at somebody else's server.
func resolveTarget(ctx context.Context, addr string, lookup lookupFunc) (target, error) {
	hostport := addr
	if i := strings.Index(addr, "://"); i >= 0 {
		if scheme := addr[:i]; scheme != "http" {
			return target{}, fmt.Errorf("target %q: only http:// is supported", addr)
		}
		hostport = strings.TrimRight(addr[i+3:], "/")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" || strings.ContainsAny(hostport, "/?#@") {
		return target{}, fmt.Errorf("target %q: use HOST:PORT or http://HOST:PORT", addr)
	}
	portNum, err := netip.ParseAddrPort("127.0.0.1:" + port)
	if err != nil {
		return target{}, fmt.Errorf("target %q: bad port %q", addr, port)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err = lookup(lctx, host)
		cancel()
		if err != nil {
			return target{}, fmt.Errorf("target %q: resolve %s: %w", addr, host, err)
		}
		if len(addrs) == 0 {
			return target{}, fmt.Errorf("target %q: %s resolves to no address", addr, host)
		}
	}
	for _, a := range addrs {
		if a.Zone() != "" || !isLoopback(a) {
			return target{}, fmt.Errorf("refusing target %q: %s is not a loopback address (only 127.0.0.0/8 and ::1 may be loaded)", addr, a)
		}
	}
	return target{
		base: "http://" + net.JoinHostPort(host, port),
		dial: netip.AddrPortFrom(addrs[0].Unmap(), portNum.Port()),
	}, nil
}

// client returns an HTTP client for conc concurrent workers: one kept-alive
// connection per worker, every connection dialled to the checked loopback
// address (whatever the URL's host resolves to later), and no redirects
// followed, so nothing can lead it off this machine.
func (t target) client(conc int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dialTo := t.dial.String()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, dialTo)
		},
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed")
		},
	}
}
