package authority

import "net/netip"

// ClientBucket is the key under which a client address is counted by the
// per-client limits (the request rate, the hashing slots): an IPv4
// address itself, an IPv6 address its /64, since one subscriber or host
// typically holds a whole /64 and could otherwise take a fresh address,
// and a fresh budget, for every request. Anything else is used as given.
func ClientBucket(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
