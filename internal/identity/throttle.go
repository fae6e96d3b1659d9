package identity

import (
	"context"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/ratelimit"
)

// Throttle sets how fast passwords and codes may be guessed. Every failed
// attempt takes a token from the client IP's bucket and from the account's
// (or, for a browser that signed in to the account before, that device's)
// bucket; an attempt finding either empty is refused with 429 and the time
// to wait. A success gives its tokens back. Buckets refill with time, so
// no lock is permanent, and a stranger who empties an account's bucket does
// not lock out the account's owner on a device they signed in from before.
type Throttle struct {
	IPBurst      int           // failures per client IP before throttling; default 20
	IPEvery      time.Duration // one more per IP after each; default 30s
	AccountBurst int           // failures per account (or device) before throttling; default 10
	AccountEvery time.Duration // one more per account after each; default 1m
}

func (t Throttle) withDefaults() Throttle {
	if t.IPBurst <= 0 {
		t.IPBurst = 20
	}
	if t.IPEvery <= 0 {
		t.IPEvery = 30 * time.Second
	}
	if t.AccountBurst <= 0 {
		t.AccountBurst = 10
	}
	if t.AccountEvery <= 0 {
		t.AccountEvery = time.Minute
	}
	return t
}

// bucketKey is one bucket of one limiter.
type bucketKey struct {
	lim   *ratelimit.Limiter
	key   string
	scope string // "ip" or "account", for the audit trail
}

// guard is one attempt's hold on its buckets.
type guard struct {
	s      *Service
	keys   []bucketKey
	target string // audit target of a lockout
}

// attempt takes a token from each bucket of an attempt to guess a secret
// for the account named by accountKey, from a.ClientIP. It fails with a
// ratelimit.ExceededError when one is empty, taking nothing.
func (s *Service) attempt(a Actor, accountKey, target string) (*guard, error) {
	g := &guard{s: s, target: target, keys: []bucketKey{
		{s.ipLimit, "ip:" + a.ClientIP, "ip"},
		{s.acctLim, accountKey, "account"},
	}}
	for i, k := range g.keys {
		if ok, after := k.lim.Allow(k.key); !ok {
			for _, taken := range g.keys[:i] {
				taken.lim.Return(taken.key)
			}
			return nil, ratelimit.Exceeded(after, "too many failed attempts: wait before trying again")
		}
	}
	return g, nil
}

// succeeded gives the attempt's tokens back.
func (g *guard) succeeded() {
	for _, k := range g.keys {
		k.lim.Return(k.key)
	}
}

// failed keeps the tokens, and audits a lockout when this failure emptied
// a bucket.
func (g *guard) failed(ctx context.Context, a Actor) {
	for _, k := range g.keys {
		if k.lim.Tokens(k.key) == 0 {
			if err := g.s.audit(ctx, a, leadcap.AuditLockout, g.target, leadcap.AuditDenied,
				map[string]string{"scope": k.scope}); err != nil {
				g.s.log.ErrorContext(ctx, "audit lockout", "component", "identity", "err", err)
			}
		}
	}
}
