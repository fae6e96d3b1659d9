// Package capture is the path of a lead from decoded input to durable
// storage: find the conference, check it is open, validate and normalise,
// and commit. The public API and the booth form both submit through it.
package capture

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

// cacheTTL bounds how long a conference change made elsewhere (the CLI,
// another server) takes to reach the submission path.
const cacheTTL = time.Second

// Service captures leads. It is safe for concurrent use.
type Service struct {
	store   *store.Store
	now     func() time.Time
	metrics *metrics.Metrics
	forms   *shield.Forms // nil: no form abuse defences

	mu    sync.Mutex
	cache map[string]cached // by slug and by id
}

type cached struct {
	c       *leadcap.Conference
	err     error
	fetched time.Time
}

// New returns a Service over st. now is time.Now outside tests.
func New(st *store.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now, cache: map[string]cached{}}
}

// WithForms makes s screen every submission with the shield's form abuse
// defences and per-conference rate limit (see shield.Forms.Screen): a
// submission that fails a defence is stored quarantined as spam, and its
// client gets the answer of any stored lead. Call it before use.
func (s *Service) WithForms(f *shield.Forms) *Service {
	s.forms = f
	return s
}

// WithMetrics makes s record each accepted submission (by conference,
// source and result) and each quarantined one in m. Call it before use.
func (s *Service) WithMetrics(m *metrics.Metrics) *Service {
	s.metrics = m
	return s
}

// Meta is what the server knows of a submission besides its body.
type Meta struct {
	ClientIP string
	// Trusted is set for authenticated callers (staff, integrations), who
	// may claim any source; the public may claim only form or kiosk.
	// Trusted submissions skip the shield's form abuse defences.
	Trusted bool
	// KioskDevice is the id of a kiosk device whose signed device link the
	// caller verified; its submissions skip the proof of work.
	KioskDevice string
	// Route names the route that took the submission, for the shield's log.
	Route string
}

// Conference returns the conference by id or slug, cached for a second.
func (s *Service) Conference(ctx context.Context, idOrSlug string) (*leadcap.Conference, error) {
	now := s.now()
	s.mu.Lock()
	e, ok := s.cache[idOrSlug]
	s.mu.Unlock()
	if ok && now.Sub(e.fetched) < cacheTTL {
		return e.c, e.err
	}
	c, err := s.store.Conference(ctx, idOrSlug)
	if err != nil && leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
		return nil, err // not cached: a database hiccup should not stick
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache) // unknown slugs from strangers must not grow it forever
	}
	s.cache[idOrSlug] = cached{c, err, now}
	s.mu.Unlock()
	return c, err
}

// Submit validates in against its conference and stores it. It returns the
// answer for the client and the stored lead as validated.
func (s *Service) Submit(ctx context.Context, in *intake.Input, meta Meta) (leadcap.CaptureResult, *leadcap.Lead, error) {
	if in.Conference == "" {
		return leadcap.CaptureResult{}, nil, leadcap.FieldErrors(map[string]string{"conference": "is required"})
	}
	c, err := s.Conference(ctx, in.Conference)
	if err != nil {
		return leadcap.CaptureResult{}, nil, err
	}
	if c.Status != leadcap.StatusOpen {
		return leadcap.CaptureResult{}, nil, leadcap.Errorf(leadcap.ECONFLICT, "conference %q is not open for leads", c.Slug)
	}
	lead, err := intake.Validate(in, c, s.now())
	if err != nil {
		return leadcap.CaptureResult{}, nil, err
	}
	if !meta.Trusted && lead.Source != leadcap.SourceForm && lead.Source != leadcap.SourceKiosk {
		return leadcap.CaptureResult{}, nil, leadcap.FieldErrors(map[string]string{"source": "must be form or kiosk for a public submission"})
	}
	device := meta.KioskDevice
	if s.forms != nil {
		ip, _ := netip.ParseAddr(meta.ClientIP)
		reason, verified, err := s.forms.Screen(ctx, c, in, shield.Caller{Trusted: meta.Trusted, KioskDevice: meta.KioskDevice,
			ClientIP: ip, Route: meta.Route})
		if err != nil {
			return leadcap.CaptureResult{}, nil, err
		}
		lead.Spam, lead.SpamReason = reason != "", reason
		if device == "" {
			device = verified
		}
	}
	if !meta.Trusted {
		// A lead is stamped with a kiosk device only on the word of that
		// device's link: a stranger's claim to be "tablet-3" is dropped,
		// and a link's own device wins over any other id sent with it.
		lead.DeviceID = device
	}
	lead.Consent.IP = meta.ClientIP
	res, err := s.store.CaptureLead(ctx, lead, intake.EmailKey(lead.Email))
	if err != nil {
		return res, nil, fmt.Errorf("capture: %w", err)
	}
	lead.ID = res.LeadID
	s.record(c, lead, res)
	return res, lead, nil
}

// record counts an accepted submission.
func (s *Service) record(c *leadcap.Conference, lead *leadcap.Lead, res leadcap.CaptureResult) {
	result := res.Result
	if res.Replayed {
		result = metrics.ResultReplayed
	}
	s.metrics.LeadSubmitted(c.Slug, lead.Source, result)
	if lead.Spam && !res.Replayed {
		s.metrics.SpamQuarantined()
	}
}
