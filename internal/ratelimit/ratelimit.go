// Package ratelimit is a keyed token-bucket limiter with bounded memory: one
// bucket per key (an account, a client IP, a device), each holding up to
// Burst tokens and refilled at one token per Every. Sign-in throttling uses
// it, and the shield reuses it for lead submissions and API calls.
package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/leadcap/leadcap"
)

// Config sets up a Limiter.
type Config struct {
	Burst int           // tokens a fresh bucket holds; at least 1
	Every time.Duration // one token comes back per Every; positive
	// MaxKeys bounds memory: past it, buckets that have refilled are
	// forgotten (a forgotten key starts full, which is the same), and if
	// that is not enough, arbitrary ones. Default 100,000.
	MaxKeys int
	Now     func() time.Time // default time.Now; tests fix it
}

// Limiter holds one token bucket per key. It is safe for concurrent use.
type Limiter struct {
	burst   float64
	every   time.Duration
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// New returns a Limiter; it panics on a Config that cannot work (Burst < 1
// or Every <= 0), which is a programming error.
func New(c Config) *Limiter {
	if c.Burst < 1 || c.Every <= 0 {
		panic(fmt.Sprintf("ratelimit: bad config: burst %d every %v", c.Burst, c.Every))
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 100_000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Limiter{burst: float64(c.Burst), every: c.Every, maxKeys: c.MaxKeys, now: c.Now, buckets: map[string]*bucket{}}
}

// refill brings b up to now and returns its tokens.
func (l *Limiter) refill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)/float64(l.every))
		b.at = now
	}
	return b.tokens
}

// get returns the bucket of key, creating a full one; l.mu is held.
func (l *Limiter) get(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	return b
}

// evict forgets full buckets, then, if still at the bound, arbitrary ones
// down to 90% of it. Forgetting a bucket can only make the limiter more
// lenient for that key, never lock anyone out.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if l.refill(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.maxKeys*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// Allow takes one token from key's bucket. When the bucket is empty it
// takes nothing and returns false and how long until a token is back.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.get(key, now)
	if t := l.refill(b, now); t < 1 {
		return false, time.Duration((1 - t) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

// Return gives back a token taken by Allow, as when a sign-in that was let
// through succeeds and should not count against its account.
func (l *Limiter) Return(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.get(key, now)
	l.refill(b, now)
	b.tokens = math.Min(l.burst, b.tokens+1)
}

// Tokens returns how many whole tokens key's bucket holds now.
func (l *Limiter) Tokens(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		return int(l.burst)
	}
	return int(l.refill(b, now))
}

// Len returns how many keys the limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ExceededError is a leadcap.ETOOMANY error that also says when to retry;
// the server sends it as 429 with a Retry-After header.
type ExceededError struct {
	Err   *leadcap.Error // code ETOOMANY and the message for the user
	After time.Duration  // how long until a token is back
}

// Exceeded returns an *ExceededError with a message for the user.
func Exceeded(after time.Duration, message string) error {
	return &ExceededError{Err: leadcap.Errorf(leadcap.ETOOMANY, "%s", message), After: after}
}

func (e *ExceededError) Error() string { return e.Err.Error() }

// Unwrap returns the *leadcap.Error, so its code and message reach the client.
func (e *ExceededError) Unwrap() error { return e.Err }

// RetryAfter returns the wait rounded up to whole seconds, at least one.
func (e *ExceededError) RetryAfter() time.Duration {
	return max(time.Second, (e.After+time.Second-1)/time.Second*time.Second)
}
