// Package identity is who is who in leadcap: users and their passwords,
// sign-in with an optional TOTP second factor, console sessions, personal
// access tokens, throttling of password guessing, and the audit records of
// all of it. The HTTP API and the operator's commands both go through it.
package identity

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/store"
)

// Options configure a Service. Zero durations take the defaults.
type Options struct {
	Store *store.Store
	// Keys computes keyed hashes of recovery codes and device cookies
	// (internal/crypto's KeyRing).
	Keys store.Sealer
	Log  *slog.Logger
	Now  func() time.Time // default time.Now; tests fix it

	SessionIdle     time.Duration // a session idle this long ends; default 2h
	SessionMaxAge   time.Duration // a session ends this long after sign-in, whatever; default 12h
	TempPasswordTTL time.Duration // a temporary password stops working after; default 7 days
	// RequireAdminMFA lets an admin without MFA do nothing but enrol.
	RequireAdminMFA bool
	// Issuer names leadcap in authenticator apps; default "leadcap".
	Issuer string
	// Throttle sets the sign-in limits; zero fields take the defaults.
	Throttle Throttle
	// HashConcurrency bounds password hashes computed at once (each takes
	// about 19 MiB and 60 ms); default the number of CPUs.
	HashConcurrency int
}

// Service manages identities. It is safe for concurrent use.
type Service struct {
	st       *store.Store
	keys     store.Sealer
	log      *slog.Logger
	now      func() time.Time
	opts     Options
	hashSlot chan struct{}
	ipLimit  *ratelimit.Limiter
	acctLim  *ratelimit.Limiter
	// lastSweep is when expired sessions were last cleared, in Unix µs.
	lastSweep atomic.Int64
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 2 * time.Hour
	}
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = 12 * time.Hour
	}
	if o.TempPasswordTTL <= 0 {
		o.TempPasswordTTL = 7 * 24 * time.Hour
	}
	if o.Issuer == "" {
		o.Issuer = "leadcap"
	}
	if o.HashConcurrency <= 0 {
		o.HashConcurrency = runtime.NumCPU()
	}
	o.Throttle = o.Throttle.withDefaults()
	clock := o.Now
	return &Service{
		st: o.Store, keys: o.Keys, log: o.Log, opts: o,
		// Times as stored: UTC, whole microseconds.
		now:      func() time.Time { return clock().UTC().Truncate(time.Microsecond) },
		hashSlot: make(chan struct{}, o.HashConcurrency),
		ipLimit:  ratelimit.New(ratelimit.Config{Burst: o.Throttle.IPBurst, Every: o.Throttle.IPEvery, Now: o.Now}),
		acctLim:  ratelimit.New(ratelimit.Config{Burst: o.Throttle.AccountBurst, Every: o.Throttle.AccountEvery, Now: o.Now}),
	}
}

// Actor is who asks for a change, for the audit trail: a signed-in user
// (UserID and Email), or the operator at the command line.
type Actor struct {
	UserID    string
	Email     string
	ClientIP  string
	UserAgent string
}

// CLI is the operator running leadcap's commands on the server.
func CLI() Actor { return Actor{Email: "cli"} }

func (a Actor) label() string {
	if a.Email == "" {
		return "anonymous"
	}
	return a.Email
}

// audit appends an event by a to the trail. A failure is returned: a
// change that cannot be audited should not look successful.
func (s *Service) audit(ctx context.Context, a Actor, action, target, result string, detail map[string]string) error {
	err := s.st.AppendAudit(ctx, leadcap.AuditEvent{At: s.now(), ActorID: a.UserID, Actor: a.label(), Action: action,
		Target: target, ClientIP: a.ClientIP, UserAgent: a.UserAgent, Result: result, Detail: detail})
	if err != nil {
		return fmt.Errorf("identity: audit %s: %w", action, err)
	}
	return nil
}

// userTarget names a user as an audit target.
func userTarget(id string) string { return "user:" + id }

// withHashSlot runs fn while holding one of the password-hashing slots, so
// a burst of sign-ins queues instead of exhausting memory.
func (s *Service) withHashSlot(ctx context.Context, fn func()) error {
	select {
	case s.hashSlot <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("identity: wait for password check: %w", ctx.Err())
	}
	defer func() { <-s.hashSlot }()
	fn()
	return nil
}

func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	var hash string
	var herr error
	if err := s.withHashSlot(ctx, func() { hash, herr = crypto.HashPassword(pw) }); err != nil {
		return "", err
	}
	return hash, herr
}

func (s *Service) checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	var ok bool
	var cerr error
	if err := s.withHashSlot(ctx, func() { ok, cerr = crypto.CheckPassword(hash, pw) }); err != nil {
		return false, err
	}
	return ok, cerr
}

func (s *Service) dummyCheck(ctx context.Context, pw string) error {
	return s.withHashSlot(ctx, func() { crypto.DummyCheck(pw) })
}

// TempPasswordTTL returns how long a temporary password works.
func (s *Service) TempPasswordTTL() time.Duration { return s.opts.TempPasswordTTL }
