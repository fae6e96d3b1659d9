package shield

import (
	"net/netip"
	"time"

	"github.com/leadcap/leadcap/internal/ratelimit"
)

// Names of the rate limits, in logs, metrics and the block record.
const (
	LimitLeadsPerIP         = "rate-ip"
	LimitLeadsPerConference = "rate-conference"
	LimitAPIPerToken        = "rate-token"
)

// limits are the shield's rate limits; a nil limiter is off.
type limits struct {
	perIP, perConference, perToken *ratelimit.Limiter
}

// newLimiter returns a limiter for c, or nil when c is off (Burst 0).
func newLimiter(c ratelimit.Config, now func() time.Time) *ratelimit.Limiter {
	if c.Burst <= 0 || c.Every <= 0 {
		return nil
	}
	c.Now = now
	return ratelimit.New(c)
}

// ipKey is the rate-limit key of a client address: the address itself for
// IPv4, and its /64 for IPv6, since one subscriber (or one venue's Wi-Fi)
// holds a whole /64 and can change addresses within it at will.
func ipKey(ip netip.Addr) string {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// allow takes a token from key's bucket in l, if l is on.
func allow(l *ratelimit.Limiter, key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	return l.Allow(key)
}

func tooMany(after time.Duration) error {
	return ratelimit.Exceeded(after, "too many requests: try again later")
}
