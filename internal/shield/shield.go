// Package shield protects leadcap from abuse without a CDN or WAF in front:
// it resolves the client IP (trusting X-Forwarded-For only from configured
// proxies), refuses requests matched by block rules (IPs, CIDR ranges and
// countries, stored in the database and picked up by every server within a
// second), applies token-bucket rate limits, and screens lead submissions
// with the form abuse defences (honeypot, minimum fill time, signed render
// token, proof of work), quarantining what fails them as spam.
package shield

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/store"
)

// Defaults of Options.
const (
	DefaultPoll = 250 * time.Millisecond
	// BlockRecordRetention is how long the block record keeps its rows,
	// and RuleRetention how long an expired rule stays listed.
	BlockRecordRetention = 7 * 24 * time.Hour
	RuleRetention        = 30 * 24 * time.Hour
	pruneEvery           = 10 * time.Minute
)

// Metrics counts the requests the shield's rules block, by rule;
// internal/metrics' *Metrics is one. rule is a name made by leadcap
// ("rule-17"), never a client's value. Rate-limited requests are counted
// where every 429 is, when the server answers them.
type Metrics interface {
	ShieldBlock(rule string)
}

// Options configure a Shield.
type Options struct {
	Store *store.Store
	Log   *slog.Logger
	// Metrics, if set, counts every block by rule.
	Metrics        Metrics
	Now            func() time.Time // default time.Now
	TrustedProxies []netip.Prefix
	// GeoIPPath is a MaxMind-format .mmdb file; without one, country rules
	// are kept but match nothing.
	GeoIPPath string
	// Poll is how often the rules' change marker is read; default 250ms.
	Poll time.Duration
	// Rate limits; a zero Config is off.
	LeadsPerIP         ratelimit.Config // lead submissions per client IP (IPv6: per /64)
	LeadsPerConference ratelimit.Config // lead submissions per conference
	APIPerToken        ratelimit.Config // requests per bearer token
}

// Shield is the request-level protection of a server. It is safe for
// concurrent use; Run keeps its rules current.
type Shield struct {
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	rules  atomic.Pointer[ruleSet]
	geo    *geoIP
	lim    limits
	record *recorder
}

// New returns a Shield with the rules in the database loaded. Call Run to
// keep them current and Close when done.
func New(ctx context.Context, o Options) (*Shield, error) {
	if o.Store == nil {
		return nil, errors.New("shield: no store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	s := &Shield{opts: o, log: o.Log, now: o.Now, record: newRecorder()}
	s.lim = limits{
		perIP:         newLimiter(o.LeadsPerIP, o.Now),
		perConference: newLimiter(o.LeadsPerConference, o.Now),
		perToken:      newLimiter(o.APIPerToken, o.Now),
	}
	if o.GeoIPPath != "" {
		g, err := openGeoIP(o.GeoIPPath)
		if err != nil {
			return nil, err
		}
		s.geo = g
	}
	s.rules.Store(&ruleSet{version: -1})
	if err := s.Reload(ctx); err != nil {
		s.geo.close()
		return nil, err
	}
	return s, nil
}

// Close releases the GeoIP database.
func (s *Shield) Close() error { return s.geo.close() }

// Reload reads the rules again if their change marker moved since the last
// load. The marker is read before the rules, so a change committed in
// between is loaded now or at the next call.
func (s *Shield) Reload(ctx context.Context) error {
	v, err := s.opts.Store.ShieldRulesVersion(ctx)
	if err != nil {
		return fmt.Errorf("shield: %w", err)
	}
	if v == s.rules.Load().version {
		return nil
	}
	rules, err := s.opts.Store.ShieldRules(ctx)
	if err != nil {
		return fmt.Errorf("shield: %w", err)
	}
	rs, errs := compile(v, rules)
	for _, err := range errs {
		s.log.ErrorContext(ctx, "shield rule skipped", "component", "shield", "err", err)
	}
	s.rules.Store(rs)
	s.log.InfoContext(ctx, "shield rules loaded", "component", "shield", "version", v,
		"networks", rs.networks, "countries", rs.countries)
	return nil
}

// Run keeps the rules current, writes the block record once a second and
// prunes old records, until ctx ends; then it writes what is left.
func (s *Shield) Run(ctx context.Context) {
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			s.Flush(context.WithoutCancel(ctx))
			return
		case <-poll.C:
			if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "shield rules reload", "component", "shield", "err", err)
			}
		case <-flush.C:
			s.Flush(ctx)
			if now := s.now(); now.Sub(lastPrune) >= pruneEvery {
				lastPrune = now
				if _, err := s.opts.Store.PruneShield(ctx, now, BlockRecordRetention, RuleRetention); err != nil && ctx.Err() == nil {
					s.log.WarnContext(ctx, "shield prune", "component", "shield", "err", err)
				}
			}
		}
	}
}

// Flush writes the blocks counted since the last flush to the block record.
func (s *Shield) Flush(ctx context.Context) {
	recs := s.record.take()
	if err := s.opts.Store.AddShieldBlocks(ctx, recs); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "shield block record lost", "component", "shield", "rows", len(recs), "err", err)
	}
}

// ClientIP returns the client address of r (see the package function).
func (s *Shield) ClientIP(r *http.Request) netip.Addr { return ClientIP(r, s.opts.TrustedProxies) }

// Country returns the country of ip from the GeoIP database, or "".
func (s *Shield) Country(ip netip.Addr) string { return s.geo.country(ip) }

// RulesVersion returns the version of the rules in force.
func (s *Shield) RulesVersion() int64 { return s.rules.Load().version }

// exempt reports whether r is a health check, which load balancers must
// reach whatever the rules say.
func exempt(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
}

// isLeadSubmission reports whether r submits a lead: the API or the booth
// form without JavaScript.
func isLeadSubmission(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/api/v1/leads" || strings.HasPrefix(r.URL.Path, "/c/"))
}

// Screen decides whether a request from ip may go on: nil, an EFORBIDDEN
// error when a block rule matches, or a rate-limit error (a
// *ratelimit.ExceededError, answered 429 with Retry-After). route names the
// route for the log and is called only for a refused request. Health
// checks are never refused.
func (s *Shield) Screen(r *http.Request, ip netip.Addr, route func() string) error {
	if exempt(r) {
		return nil
	}
	now := s.now()
	rs := s.rules.Load()
	var cc string
	looked := false
	country := func() string {
		if !looked {
			cc, looked = s.geo.country(ip), true
		}
		return cc
	}
	blocked, netAllowed := rs.match(ip, now.UnixMicro(), country)
	if blocked != nil {
		s.refuse(r.Context(), now, blocked.name, "", ip, country(), route())
		return leadcap.Errorf(leadcap.EFORBIDDEN, "requests from your network are blocked")
	}
	if isLeadSubmission(r) && !netAllowed {
		if ok, after := allow(s.lim.perIP, ipKey(ip)); !ok {
			s.refuse(r.Context(), now, LimitLeadsPerIP, "ip", ip, country(), route())
			return tooMany(after)
		}
	}
	if tok, ok := bearer(r); ok {
		if ok, after := allow(s.lim.perToken, tok); !ok {
			s.refuse(r.Context(), now, LimitAPIPerToken, "token", ip, country(), route())
			return tooMany(after)
		}
	}
	return nil
}

// AllowConference takes a token from the lead submission limit of the
// conference. A refusal is logged with the client IP and route of ctx's
// request as given.
func (s *Shield) AllowConference(ctx context.Context, conferenceID string, ip netip.Addr, route string) error {
	ok, after := allow(s.lim.perConference, conferenceID)
	if ok {
		return nil
	}
	s.refuse(ctx, s.now(), LimitLeadsPerConference, "conference", ip, s.geo.country(ip), route)
	return tooMany(after)
}

// refuse logs, counts and records one refused request. The log line
// carries the client IP on purpose: blocks are what an operator reads to
// find an attack's sources and block them. Ordinary request lines do not.
func (s *Shield) refuse(ctx context.Context, now time.Time, rule, scope string, ip netip.Addr, country, route string) {
	level := slog.LevelWarn
	msg := "shield block"
	if scope != "" {
		msg = "shield rate limit"
	}
	s.log.LogAttrs(ctx, level, msg, slog.String("component", "shield"), slog.String("rule", rule),
		slog.String("client_ip", ip.String()), slog.String("country", country), slog.String("route", route))
	if m := s.opts.Metrics; m != nil && scope == "" {
		m.ShieldBlock(rule)
	}
	s.record.add(now, rule, ip.String(), country, route)
}

// bearer returns the token of an "Authorization: Bearer" header. Tokens
// longer than any leadcap issues share one bucket, so that junk cannot
// grow the limiter.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	if tok == "" {
		return "", false
	}
	if len(tok) > 200 {
		tok = "oversize"
	}
	return tok, true
}
