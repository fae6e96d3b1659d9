package shield

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client of r: the TCP peer, or, when
// the peer is a trusted proxy, the right-most address in X-Forwarded-For
// that is not itself a trusted proxy. Hops are counted from the right, the
// end a proxy appends to, since anything further left is whatever the
// client chose to send. A hop that does not parse stops the walk at the
// last address believed. IPv4-mapped IPv6 addresses are unmapped and zones
// dropped, so that 192.0.2.1 and ::ffff:192.0.2.1 are one client to the
// rules, rate limits, logs and audit trail alike. It returns the zero Addr
// when even the peer does not parse.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = normalize(peer)
	if !InNetworks(peer, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := hops[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				list, hop = list[:j], list[j+1:]
			} else {
				list, hop = "", list
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return peer // a garbled hop: trust nothing left of it
			}
			a = normalize(a)
			if !InNetworks(a, trusted) {
				return a
			}
			peer = a
		}
	}
	return peer
}

// ForwardedHTTPS reports whether r reached leadcap over HTTPS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto.
func ForwardedHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	if len(trusted) == 0 || !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && InNetworks(normalize(peer), trusted)
}

func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// InNetworks reports whether a lies in one of nets.
func InNetworks(a netip.Addr, nets []netip.Prefix) bool {
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
