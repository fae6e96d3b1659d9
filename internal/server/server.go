// Package server is leadcap's HTTP surface: routes.go maps every route in one
// place, middleware.go holds the fixed middleware stack, and each file holds
// the handlers of one area.
package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/web"
)

// Deps are what the server needs; cli's serve command builds them.
type Deps struct {
	Store          *store.Store
	Capture        *capture.Service
	Exports        *export.Service
	Log            *slog.Logger
	MaxBodyBytes   int64
	TrustedProxies []netip.Prefix
	// OutboxMaxLag is how old the oldest uncopied raw submission may be
	// before /readyz reports the outbox unhealthy.
	OutboxMaxLag time.Duration
	Now          func() time.Time

	// Shield screens every request (block rules, rate limits); Forms
	// issues the booth form's render tokens. Nil: neither.
	Shield *shield.Shield
	Forms  *shield.Forms
	// MaxRequestBytes caps the body of every route; lead submissions have
	// their own, smaller, MaxBodyBytes.
	MaxRequestBytes int64
	// Metrics records every request and error; nil gets a fresh set.
	Metrics *metrics.Metrics
	// MetricsAllow are the networks besides loopback that /metrics (the
	// routes of access.Monitoring) answers; MetricsToken, if set, is also
	// required there as a bearer token.
	MetricsAllow []netip.Prefix
	MetricsToken string
	// Identity signs users in and finds the caller of each request; without
	// it only public routes answer.
	Identity *identity.Service
	// SecureCookies marks cookies Secure on plain-HTTP requests too: TLS
	// ends at a proxy in front (the public URL is https).
	SecureCookies bool
	// Blob is the object store: QR codes (qr/), raw copies of leads.
	Blob blob.Store
	// Erasures records each lead deleted through the API or the console
	// in the object store, so that a restore of an older backup erases it
	// again; nil records none.
	Erasures *erasure.Log
	// PublicURL is the base of booth form links and QR codes; empty takes
	// the scheme and host of each request.
	PublicURL string
	// Kiosk checks kiosk device links (signature, expiry, revocation);
	// without it device links are refused.
	Kiosk *kiosk.Links
	// KioskIdle and KioskThanks time the booth form's kiosk mode; zero
	// takes internal/web's defaults.
	KioskIdle, KioskThanks time.Duration
}

// Server serves leadcap's HTTP routes.
type Server struct {
	Deps
	mux   *http.ServeMux
	table []Route // every route with its permission, as registered
	// pages are the patterns of console pages, whose errors are HTML.
	pages   map[string]bool
	console *web.Console

	metricsHandler http.Handler // serves Metrics in the Prometheus format
	booth          *web.Booth
}

// New returns leadcap's HTTP handler. It panics if the booth form's or the
// console's embedded templates, catalogs or assets are broken, which only a
// broken build can cause, so that such a build stops at start-up.
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New(leadcap.Version, d.Now)
	}
	if d.OutboxMaxLag == 0 {
		d.OutboxMaxLag = 5 * time.Minute
	}
	console, err := web.NewConsole(d.Log)
	if err != nil {
		panic(err) // only a broken build has broken embedded templates
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), metricsHandler: d.Metrics.Handler(), booth: newBooth(d), console: console}
	s.routes()
	return s.middleware(s.mux)
}
