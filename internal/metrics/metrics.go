// Package metrics holds every Prometheus collector of leadcap, on a registry
// of its own (never the global default one), and the methods the rest of
// leadcap records its events with. docs/METRICS.md describes each family.
//
// Label values are bounded: route patterns, status codes, conference slugs,
// fixed sets of sources, results, fields, components and formats, and rule or
// scope names chosen by leadcap's code. No email, name, phone, IP address or
// token is ever a label value; a value outside a fixed set is recorded as
// "other".
//
// Every recording method is safe on a nil *Metrics and then does nothing, so
// a package can take a *Metrics as an optional dependency.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every family leadcap defines.
const Namespace = "leadcap"

// Other is the label value recorded for a value outside its fixed set.
const Other = "other"

// Lead submission results, the values of the result label of
// leadcap_lead_submissions_total.
const (
	ResultCreated  = "created"  // a new lead
	ResultUpdated  = "updated"  // merged into the lead with the same email
	ResultReplayed = "replayed" // a repeated submission_id: the first answer again
)

// Components are the parts of leadcap whose errors are counted: the request
// areas and each background worker.
func Components() []string {
	return []string{"alarms", "audit", "auth", "backup", "conferences", "exports", "http", "identity", "leads",
		"lifecycle", "outbox", "users"}
}

// validationFields are the lead fields a validation failure is counted by.
// An answer is counted as "answers", whatever its question id.
func validationFields() []string {
	return []string{"conference", "submission_id", "first_name", "last_name", "email", "phone", "company",
		"job_title", "country", "interests", "answers", "notes", "consent", "consent.contact",
		"consent.marketing", "consent.version", "source", "device_id", "website", "render_token",
		"pow_nonce", "pow_solution"}
}

func sources() []string    { return []string{"form", "kiosk", "staff", "api", "import"} }
func formats() []string    { return []string{"csv", "json", "ndjson", "xlsx"} }
func channels() []string   { return []string{"webhook", "email"} }
func deliveries() []string { return []string{"sent", "failed"} }

// Metrics is leadcap's set of collectors. It is safe for concurrent use.
type Metrics struct {
	app     *prometheus.Registry // the leadcap_ families; the alarm evaluator reads them
	runtime *prometheus.Registry // Go runtime, process and Go build info
	now     func() time.Time

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	leadsCaptured *prometheus.CounterVec
	submissions   *prometheus.CounterVec
	validation    *prometheus.CounterVec
	spam          prometheus.Counter
	shieldBlocks  *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	errors        *prometheus.CounterVec
	failedLogins  prometheus.Counter
	exports       *prometheus.CounterVec
	exportRows    prometheus.Counter
	exportBytes   prometheus.Counter
	outboxCopied  prometheus.Counter
	outboxRemoved prometheus.Counter
	alarmFiring   *prometheus.GaugeVec
	notifications *prometheus.CounterVec
	backups       *prometheus.CounterVec

	mu            sync.Mutex
	outboxPending int64
	outboxOldest  time.Time // zero when nothing waits
	databaseBytes int64
	objectBytes   int64
	lastBackup    time.Time // zero until the backup worker has looked
}

// New returns leadcap's collectors on a new registry. version is the build's
// version (leadcap.Version); now is time.Now outside tests.
func New(version string, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{app: prometheus.NewRegistry(), runtime: prometheus.NewRegistry(), now: now}
	f := promauto{m.app}

	m.httpRequests = f.counterVec("http_requests_total",
		"HTTP requests answered, by route pattern, status code and component.", "route", "code", "component")
	m.httpDuration = f.histogramVec("http_request_duration_seconds",
		"Time to answer an HTTP request, by route pattern and status code.",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "route", "code")
	m.leadsCaptured = f.counterVec("leads_captured_total",
		"Lead submissions stored as a new lead or merged into one (replays excluded), by conference slug and source.",
		"conference", "source")
	m.submissions = f.counterVec("lead_submissions_total",
		"Accepted lead submissions by result: created, updated (merged) or replayed (a repeated submission_id).", "result")
	m.validation = f.counterVec("validation_failures_total",
		"Lead submission fields refused by validation, by field (every answer counts as \"answers\").", "field")
	m.spam = f.counter("spam_quarantined_total", "Lead submissions kept in quarantine as suspected spam.")
	m.shieldBlocks = f.counterVec("shield_blocks_total", "Requests blocked by the shield, by rule.", "rule")
	m.rateLimited = f.counterVec("rate_limited_total", "Requests refused by a rate limit (429), by scope.", "scope")
	m.errors = f.counterVec("errors_total",
		"Internal errors (logged at error level), by component: request areas and background workers.", "component")
	m.failedLogins = f.counter("failed_logins_total", "Failed sign-in attempts.")
	m.exports = f.counterVec("exports_total", "Exports completed, by format.", "format")
	m.exportRows = f.counter("export_rows_total", "Leads written by completed exports.")
	m.exportBytes = f.counter("export_bytes_total", "Bytes written by completed exports.")
	m.outboxCopied = f.counter("outbox_copied_total", "Raw lead copies written to the object store by the outbox.")
	m.outboxRemoved = f.counter("outbox_removed_total",
		"Raw lead copies the outbox removed right after writing them, because their lead had been deleted (erased, archived) meanwhile.")
	m.alarmFiring = f.gaugeVec("alarm_firing", "1 while the built-in alarm is in state ALARM, else 0.", "alarm")
	m.notifications = f.counterVec("alarm_notifications_total",
		"Alarm notifications by channel and outcome (sent, or failed after every retry).", "channel", "result")

	m.backups = f.counterVec("backups_total",
		"Scheduled backups this server took, by result: success, or failure (the error is logged).", "result")
	f.gaugeFunc("backup_last_success_timestamp_seconds",
		"Unix time of the newest backup in the object store, as this server's backup worker last saw it; 0 before it looked.",
		func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.lastBackup.IsZero() {
				return 0
			}
			return float64(m.lastBackup.UnixMilli()) / 1e3
		})
	f.gaugeFunc("outbox_pending", "Raw lead copies waiting to be written to the object store.", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(m.outboxPending)
	})
	f.gaugeFunc("outbox_lag_seconds", "Age of the oldest raw lead copy not yet written to the object store; 0 when none waits.", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.outboxOldest.IsZero() {
			return 0
		}
		return max(0, m.now().Sub(m.outboxOldest).Seconds())
	})
	f.gaugeFunc("database_size_bytes", "Size of the database (the SQLite file and its WAL, or the PostgreSQL database).", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(m.databaseBytes)
	})
	f.gaugeFunc("object_store_size_bytes", "Bytes stored in the object store, every version counted.", func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return float64(m.objectBytes)
	})
	build := f.gaugeVec("build_info", "Always 1; the labels name leadcap's version and the Go version that built it.", "version", "goversion")
	build.WithLabelValues(version, runtime.Version()).Set(1)

	m.runtime.MustRegister(collectors.NewGoCollector(), collectors.NewBuildInfoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Known label values start at zero, so that their series exist from
	// the start and rates and increases have a first point.
	for _, c := range Components() {
		m.errors.WithLabelValues(c)
	}
	for _, r := range []string{ResultCreated, ResultUpdated, ResultReplayed} {
		m.submissions.WithLabelValues(r)
	}
	for _, field := range validationFields() {
		m.validation.WithLabelValues(field)
	}
	for _, format := range formats() {
		m.exports.WithLabelValues(format)
	}
	for _, r := range []string{"success", "failure"} {
		m.backups.WithLabelValues(r)
	}
	for _, ch := range channels() {
		for _, d := range deliveries() {
			m.notifications.WithLabelValues(ch, d)
		}
	}
	return m
}

// promauto registers new collectors of the leadcap namespace on reg.
type promauto struct{ reg *prometheus.Registry }

func (p promauto) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	p.reg.MustRegister(c)
	return c
}

func (p promauto) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	p.reg.MustRegister(c)
	return c
}

func (p promauto) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	p.reg.MustRegister(g)
	return g
}

func (p promauto) gaugeFunc(name, help string, fn func() float64) {
	p.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, fn))
}

func (p promauto) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	p.reg.MustRegister(h)
	return h
}

// Handler serves every family in the Prometheus text format. It does not
// check who asks: the server guards the route.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.app, m.runtime}, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Gatherer returns the leadcap_ families only, without the Go runtime and
// process ones: what the alarm evaluator samples.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.app }

// Gatherers returns every family, as Handler serves them.
func (m *Metrics) Gatherers() prometheus.Gatherers { return prometheus.Gatherers{m.app, m.runtime} }

// oneOf returns v when it is in set, else Other.
func oneOf(v string, set []string) string {
	for _, s := range set {
		if v == s {
			return v
		}
	}
	return Other
}

// name returns v when it is a short lower-case name made by code (letters,
// digits, '_' and '-'), else Other: a client's value (an address, an email)
// never has that form and never becomes a label value.
func name(v string) string {
	if v == "" || len(v) > 32 {
		return Other
	}
	for _, r := range v {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return Other
		}
	}
	return v
}

// ObserveRequest records an answered HTTP request. route is the mux pattern
// that served it ("unmatched" for none), never the raw path.
func (m *Metrics) ObserveRequest(route, component string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := strconv.Itoa(status)
	m.httpRequests.WithLabelValues(route, code, oneOf(component, Components())).Inc()
	m.httpDuration.WithLabelValues(route, code).Observe(d.Seconds())
}

// LeadSubmitted records an accepted lead submission at the conference with
// slug conference. result is ResultCreated, ResultUpdated or ResultReplayed;
// a replay stored nothing, so it does not count as a captured lead.
func (m *Metrics) LeadSubmitted(conference, source, result string) {
	if m == nil {
		return
	}
	m.submissions.WithLabelValues(oneOf(result, []string{ResultCreated, ResultUpdated, ResultReplayed})).Inc()
	if result != ResultReplayed {
		m.leadsCaptured.WithLabelValues(conference, oneOf(source, sources())).Inc()
	}
}

// ValidationFailed records each field a lead submission was refused for.
// Fields outside the lead's fixed set are counted as Other, and every
// answer ("answers.<question id>") as "answers".
func (m *Metrics) ValidationFailed(fields map[string]string) {
	if m == nil {
		return
	}
	for f := range fields {
		if head, _, ok := strings.Cut(f, "."); ok && head == "answers" {
			f = "answers"
		} else if ok && head == "consent" && oneOf(f, validationFields()) == Other {
			f = "consent"
		}
		m.validation.WithLabelValues(oneOf(f, validationFields())).Inc()
	}
}

// SpamQuarantined records a submission kept in quarantine as suspected spam.
func (m *Metrics) SpamQuarantined() {
	if m == nil {
		return
	}
	m.spam.Inc()
}

// ShieldBlock records a request the shield blocked. rule names the rule in
// leadcap's code (e.g. "blocklist", "geo"); it is never a client's value.
func (m *Metrics) ShieldBlock(rule string) {
	if m == nil {
		return
	}
	m.shieldBlocks.WithLabelValues(name(rule)).Inc()
}

// RateLimited records a request refused by a rate limit. scope names the
// limit in leadcap's code (e.g. "ip", "login"); it is never a client's value.
func (m *Metrics) RateLimited(scope string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(name(scope)).Inc()
}

// Error records an internal error of component (one of Components; any
// other is counted as Other). Count an error where it is logged at error
// level, once.
func (m *Metrics) Error(component string) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(oneOf(component, Components())).Inc()
}

// FailedLogin records a failed sign-in attempt.
func (m *Metrics) FailedLogin() {
	if m == nil {
		return
	}
	m.failedLogins.Inc()
}

// ExportDone records a completed export of rows leads in bytes bytes, in
// format csv, json, ndjson or xlsx.
func (m *Metrics) ExportDone(format string, rows, bytes int64) {
	if m == nil {
		return
	}
	m.exports.WithLabelValues(oneOf(format, formats())).Inc()
	m.exportRows.Add(float64(rows))
	m.exportBytes.Add(float64(bytes))
}

// OutboxCopied records n raw lead copies written to the object store.
func (m *Metrics) OutboxCopied(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.outboxCopied.Add(float64(n))
}

// OutboxRemoved records n raw lead copies removed again by the outbox
// because their lead was deleted while they were being written.
func (m *Metrics) OutboxRemoved(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.outboxRemoved.Add(float64(n))
}

// SetOutbox records how many raw copies wait and when the oldest was queued
// (zero when none waits). The lag is computed at each scrape from oldest, so
// it keeps growing even if nothing updates it.
func (m *Metrics) SetOutbox(pending int64, oldest time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.outboxPending, m.outboxOldest = pending, oldest
	m.mu.Unlock()
}

// SetDatabaseSize records the size of the database in bytes.
func (m *Metrics) SetDatabaseSize(n int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.databaseBytes = n
	m.mu.Unlock()
}

// SetObjectStoreSize records the bytes stored in the object store.
func (m *Metrics) SetObjectStoreSize(n int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.objectBytes = n
	m.mu.Unlock()
}

// AlarmState records whether the built-in alarm named alarm fires.
func (m *Metrics) AlarmState(alarm string, firing bool) {
	if m == nil {
		return
	}
	v := 0.0
	if firing {
		v = 1
	}
	m.alarmFiring.WithLabelValues(alarm).Set(v)
}

// AlarmNotification records the outcome of one alarm notification on
// channel ("webhook" or "email"): sent, or failed after every retry.
func (m *Metrics) AlarmNotification(channel string, sent bool) {
	if m == nil {
		return
	}
	result := "failed"
	if sent {
		result = "sent"
	}
	m.notifications.WithLabelValues(oneOf(channel, channels()), result).Inc()
}

// BackupTaken records a scheduled backup that succeeded or failed.
func (m *Metrics) BackupTaken(ok bool) {
	if m == nil {
		return
	}
	result := "failure"
	if ok {
		result = "success"
	}
	m.backups.WithLabelValues(result).Inc()
}

// SetLastBackup records when the newest backup in the object store was
// taken.
func (m *Metrics) SetLastBackup(at time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.lastBackup = at
	m.mu.Unlock()
}
