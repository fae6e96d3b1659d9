package shield

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:aa::/48")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"peer only", "198.51.100.7:5000", nil, "198.51.100.7"},
		{"untrusted peer's forwarded-for is ignored", "198.51.100.7:5000", []string{"203.0.113.1"}, "198.51.100.7"},
		{"trusted proxy's forwarded-for is used", "10.1.2.3:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"right-most untrusted hop wins", "10.1.2.3:5000", []string{"1.2.3.4, 203.0.113.1, 10.9.9.9"}, "203.0.113.1"},
		{"a client's spoofed left hops are ignored", "10.1.2.3:5000", []string{"6.6.6.6", "203.0.113.1"}, "203.0.113.1"},
		{"garbled hop stops the walk", "10.1.2.3:5000", []string{"203.0.113.1, junk, 10.9.9.9"}, "10.9.9.9"},
		{"only proxies", "10.1.2.3:5000", []string{"10.2.2.2"}, "10.2.2.2"},
		{"trusted proxy without header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"IPv4-mapped peer unmapped", "[::ffff:198.51.100.7]:5000", nil, "198.51.100.7"},
		{"IPv4-mapped hop unmapped", "10.1.2.3:5000", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
		{"IPv6 peer", "[2001:db8:1::5]:5000", nil, "2001:db8:1::5"},
		{"IPv6 trusted proxy", "[2001:db8:aa::1]:5000", []string{"2001:db8:bb::9"}, "2001:db8:bb::9"},
		{"zone dropped", "[fe80::1%eth0]:5000", nil, "fe80::1"},
		{"unparsable peer", "garbage", nil, "invalid IP"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, h := range tt.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := ClientIP(r, proxies).String(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestForwardedHTTPS(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "198.51.100.7:5000"
	r.Header.Set("X-Forwarded-Proto", "https")
	if ForwardedHTTPS(r, proxies) {
		t.Error("an untrusted peer's X-Forwarded-Proto was believed")
	}
	r.RemoteAddr = "10.0.0.1:5000"
	if !ForwardedHTTPS(r, proxies) {
		t.Error("a trusted proxy's X-Forwarded-Proto was ignored")
	}
	r.Header.Del("X-Forwarded-Proto")
	if ForwardedHTTPS(r, proxies) {
		t.Error("plain HTTP from a proxy taken for HTTPS")
	}
	r.TLS = &tls.ConnectionState{}
	if !ForwardedHTTPS(r, nil) {
		t.Error("TLS not seen")
	}
}
