package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/shield"
)

// internalOnly serves h only to operators' machines: a client on loopback or
// in MetricsAllow, with the bearer token MetricsToken when one is set. The
// client is the address the middleware resolved, which comes from
// X-Forwarded-For only when the peer is a trusted proxy. A request that
// carries forwarding headers from a peer that is not a trusted proxy is
// refused even from loopback: it was relayed by a proxy leadcap does not
// know (a front end on the same machine, say), so its real client is unknown.
func (s *Server) internalOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r.Context())
		if !ip.IsValid() || !s.internalClient(ip) || s.relayedByStranger(r) {
			s.writeError(w, r, "http", leadcap.Errorf(leadcap.EFORBIDDEN,
				"this route answers only loopback and the networks of LEADCAP_METRICS_ALLOW"))
			return
		}
		if s.MetricsToken != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.MetricsToken))
			if !ok || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="leadcap metrics"`)
				s.writeError(w, r, "http", leadcap.Errorf(leadcap.EUNAUTHORIZED, "a valid bearer token is required"))
				return
			}
		}
		h(w, r)
	}
}

// handleMetrics is GET /metrics: every metric in the Prometheus text
// format. Its permission, access.Monitoring, puts it behind internalOnly.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.metricsHandler.ServeHTTP(w, r)
}

func (s *Server) internalClient(ip netip.Addr) bool {
	return ip.IsLoopback() || shield.InNetworks(ip, s.MetricsAllow)
}

// relayedByStranger reports a request with forwarding headers whose TCP
// peer is not a trusted proxy.
func (s *Server) relayedByStranger(r *http.Request) bool {
	if r.Header.Get("X-Forwarded-For") == "" && r.Header.Get("Forwarded") == "" && r.Header.Get("X-Real-Ip") == "" {
		return false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err != nil || !shield.InNetworks(peer.Addr().Unmap(), s.TrustedProxies)
}
