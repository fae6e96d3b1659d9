package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/config"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const statusUsage = `status [--server URL] [--json]

The operator's daily check in one command: leads today and in the last 7
days, the API's error rate, errors by component, blocked requests, storage
used, alarms firing and the age of the last backup. The figures of requests
and errors come from the local server's /metrics (since it started); the rest
from the database and the object store. Exit code 1 while an alarm fires.`

// monitoringRoutes are left out of the API's request and error counts: they
// are probes and scrapes, not use.
func monitoringRoutes() []string { return []string{"GET /metrics", "GET /healthz", "GET /readyz"} }

// statusReport is what leadcap status shows; --json prints it as is.
type statusReport struct {
	At       time.Time     `json:"at"`
	Node     string        `json:"node"`
	Database string        `json:"database"`
	Leads    leadFigures   `json:"leads"`
	Server   serverStatus  `json:"server"`
	Storage  storageStatus `json:"storage"`
	Alarms   alarmStatus   `json:"alarms"`
	Backup   backupStatus  `json:"backup"`
}

type leadFigures struct {
	Today      int64     `json:"today"`
	TodaySince time.Time `json:"today_since"`
	Last7Days  int64     `json:"last_7_days"`
	Spam7Days  int64     `json:"spam_last_7_days"`
}

type serverStatus struct {
	URL       string `json:"url"`
	Reachable bool   `json:"reachable"`
	Problem   string `json:"problem,omitempty"` // why the figures are missing
	// The figures below count since the server started.
	UptimeSeconds    float64           `json:"uptime_seconds,omitempty"`
	Requests         float64           `json:"requests"`
	ServerErrors     float64           `json:"server_errors"`
	ErrorRatePercent float64           `json:"error_rate_percent"`
	Components       []componentStatus `json:"components"`
	ShieldBlocks     float64           `json:"shield_blocks"`
	RateLimited      float64           `json:"rate_limited"`
	FailedLogins     float64           `json:"failed_logins"`
	OutboxPending    float64           `json:"outbox_pending"`
	OutboxLagSeconds float64           `json:"outbox_lag_seconds"`
}

type componentStatus struct {
	Name             string  `json:"name"`
	Requests         float64 `json:"requests"`
	Errors           float64 `json:"errors"`
	ErrorRatePercent float64 `json:"error_rate_percent"` // of requests; 0 for a worker
}

type storageStatus struct {
	DatabaseBytes    int64  `json:"database_bytes"`
	ObjectBytes      int64  `json:"object_bytes"` // every version counted
	Objects          int64  `json:"objects"`
	ObjectVersions   int64  `json:"object_versions"`
	ObjectStoreError string `json:"object_store_error,omitempty"`
}

type alarmStatus struct {
	Total  int             `json:"total"`
	Firing []leadcap.Alarm `json:"firing"`
	Stale  []leadcap.Alarm `json:"stale"` // in ALARM when their server last checked, but it stopped checking
}

type backupStatus struct {
	Exists     bool      `json:"exists"`
	Last       time.Time `json:"last,omitzero"`
	AgeSeconds float64   `json:"age_seconds,omitempty"`
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "status", statusUsage)
	c := addCommon(fs)
	var serverURL string
	fs.StringVar(&serverURL, "server", "", "base URL of the local server (default: from --listen, on loopback)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("status: unexpected argument %q", pos[0])
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	if serverURL == "" {
		serverURL = localURL(cfg.Listen)
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	now := time.Now()
	r := statusReport{At: now.UTC(), Node: cfg.Node(), Database: st.Dialect()}
	y, m, d := now.Date()
	r.Leads.TodaySince = time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	today, err := st.CountLeadsSince(ctx, r.Leads.TodaySince)
	if err != nil {
		return err
	}
	week, err := st.CountLeadsSince(ctx, r.Leads.TodaySince.AddDate(0, 0, -6))
	if err != nil {
		return err
	}
	r.Leads.Today, r.Leads.Last7Days, r.Leads.Spam7Days = today.Leads, week.Leads, week.Spam

	r.Server = scrapeServer(ctx, serverURL, cfg.MetricsToken)

	if r.Storage.DatabaseBytes, err = st.SizeBytes(ctx); err != nil {
		return fmt.Errorf("status: database size: %w", err)
	}
	r.Storage.ObjectStoreError, r.Backup = objectStatus(ctx, cfg, &r.Storage, now)

	list, err := st.Alarms(ctx, "")
	if err != nil {
		return err
	}
	r.Alarms = alarmStatus{Total: len(list), Firing: []leadcap.Alarm{}, Stale: []leadcap.Alarm{}}
	for _, a := range list {
		switch {
		case a.Firing(now):
			r.Alarms.Firing = append(r.Alarms.Firing, a)
		case a.State == leadcap.AlarmFired:
			r.Alarms.Stale = append(r.Alarms.Stale, a)
		}
	}

	if c.json {
		if err := printJSON(env.Stdout, r); err != nil {
			return err
		}
	} else {
		printStatus(env.Stdout, r)
	}
	if n := len(r.Alarms.Firing); n > 0 {
		return fmt.Errorf("status: %d %s firing", n, plural(n, "alarm", "alarms"))
	}
	return nil
}

// localURL is the loopback URL of a server listening on listen.
func localURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// objectStatus measures the object store and finds the newest backup.
func objectStatus(ctx context.Context, cfg config.Config, s *storageStatus, now time.Time) (string, backupStatus) {
	var b backupStatus
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err.Error(), b
	}
	defer objects.Close()
	u, err := objects.Usage(ctx, "")
	if err != nil {
		return err.Error(), b
	}
	s.ObjectBytes, s.Objects, s.ObjectVersions = u.StoredBytes, u.Objects, u.Versions
	err = objects.List(ctx, "backups/", func(i blob.Info) error {
		if i.ModTime.After(b.Last) {
			b.Exists, b.Last = true, i.ModTime
		}
		return nil
	})
	if err != nil {
		return err.Error(), b
	}
	if b.Exists {
		b.AgeSeconds = now.Sub(b.Last).Seconds()
	}
	return "", b
}

// scrapeServer reads the request and error figures from the server's
// /metrics; Problem says why when it cannot.
func scrapeServer(ctx context.Context, base, token string) serverStatus {
	s := serverStatus{URL: base, Components: []componentStatus{}}
	fams, err := scrape(ctx, strings.TrimSuffix(base, "/")+"/metrics", token)
	if err != nil {
		s.Problem = err.Error()
		return s
	}
	s.Reachable = true
	monitoring := monitoringRoutes()
	byComponent := map[string]*componentStatus{}
	component := func(name string) *componentStatus {
		if c := byComponent[name]; c != nil {
			return c
		}
		c := &componentStatus{Name: name}
		byComponent[name] = c
		return c
	}
	each(fams["leadcap_http_requests_total"], func(l map[string]string, v float64) {
		if contains(monitoring, l["route"]) {
			return
		}
		s.Requests += v
		if strings.HasPrefix(l["code"], "5") {
			s.ServerErrors += v
		}
		component(l["component"]).Requests += v
	})
	each(fams["leadcap_errors_total"], func(l map[string]string, v float64) { component(l["component"]).Errors += v })
	each(fams["leadcap_shield_blocks_total"], func(_ map[string]string, v float64) { s.ShieldBlocks += v })
	each(fams["leadcap_rate_limited_total"], func(_ map[string]string, v float64) { s.RateLimited += v })
	each(fams["leadcap_failed_logins_total"], func(_ map[string]string, v float64) { s.FailedLogins += v })
	each(fams["leadcap_outbox_pending"], func(_ map[string]string, v float64) { s.OutboxPending = v })
	each(fams["leadcap_outbox_lag_seconds"], func(_ map[string]string, v float64) { s.OutboxLagSeconds = v })
	each(fams["process_start_time_seconds"], func(_ map[string]string, v float64) {
		s.UptimeSeconds = float64(time.Now().Unix()) - v
	})
	s.ErrorRatePercent = percent(s.ServerErrors, s.Requests)
	for _, c := range byComponent {
		if c.Requests == 0 && c.Errors == 0 {
			continue
		}
		c.ErrorRatePercent = percent(c.Errors, c.Requests)
		s.Components = append(s.Components, *c)
	}
	sort.Slice(s.Components, func(i, j int) bool { return s.Components[i].Name < s.Components[j].Name })
	return s
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func percent(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * part / whole
}

// scrape fetches and parses a Prometheus text exposition.
func scrape(ctx context.Context, url, token string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("server not reachable at %s", url)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", url, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return fams, nil
}

// each calls fn with the labels and value of every series of f.
func each(f *dto.MetricFamily, fn func(labels map[string]string, v float64)) {
	if f == nil {
		return
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		switch {
		case m.Counter != nil:
			fn(labels, m.Counter.GetValue())
		case m.Gauge != nil:
			fn(labels, m.Gauge.GetValue())
		case m.Untyped != nil:
			fn(labels, m.Untyped.GetValue())
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// printStatus prints the report as the daily check's table, one aligned
// block per section.
func printStatus(w io.Writer, r statusReport) {
	section := func(lines ...string) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, l := range lines {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	f := fmt.Sprintf
	section(f("leadcap status, %s, node %s, %s database", r.At.Local().Format("2006-01-02 15:04 MST"), r.Node, r.Database))
	section("LEADS",
		f("  today\t%d\tsince %s", r.Leads.Today, r.Leads.TodaySince.Format("15:04 MST")),
		f("  last 7 days\t%d\tand %d in spam quarantine", r.Leads.Last7Days, r.Leads.Spam7Days))

	s := r.Server
	if !s.Reachable {
		section(f("SERVER %s", s.URL),
			f("  not reachable: %s", s.Problem),
			"  request, error and blocked-request figures are unavailable")
	} else {
		section(f("SERVER %s, up %s (counts since it started)", s.URL, fmtDuration(s.UptimeSeconds)),
			f("  API requests\t%.0f\thealth checks and scrapes not counted", s.Requests),
			f("  API errors (5xx)\t%.0f\t%s (guide: under 1%%)", s.ServerErrors, fmtPercent(s.ErrorRatePercent)),
			f("  blocked requests\t%.0f\tshield %.0f, rate limited %.0f", s.ShieldBlocks+s.RateLimited, s.ShieldBlocks, s.RateLimited),
			f("  failed logins\t%.0f\tsign-in attempts refused", s.FailedLogins),
			f("  outbox\t%.0f waiting\tlag %s", s.OutboxPending, fmtDuration(s.OutboxLagSeconds)))
		lines := []string{"ERRORS BY COMPONENT\trequests\terrors\trate"}
		for _, c := range s.Components {
			rate := "(worker)"
			if c.Requests > 0 {
				rate = fmtPercent(c.ErrorRatePercent)
			}
			lines = append(lines, f("  %s\t%.0f\t%.0f\t%s", c.Name, c.Requests, c.Errors, rate))
		}
		section(lines...)
	}

	objects := f("  object store\t%s\t%d objects, %d versions", fmtBytes(r.Storage.ObjectBytes), r.Storage.Objects, r.Storage.ObjectVersions)
	if r.Storage.ObjectStoreError != "" {
		objects = f("  object store\tunknown\t%s", r.Storage.ObjectStoreError)
	}
	backup := "  last backup\tnone\tno object under backups/ yet"
	if r.Backup.Exists {
		backup = f("  last backup\t%s ago\t%s", fmtDuration(r.Backup.AgeSeconds), r.Backup.Last.Local().Format("2006-01-02 15:04"))
	}
	section("STORAGE", f("  database\t%s\t%s", fmtBytes(r.Storage.DatabaseBytes), r.Database), objects, backup)

	lines := []string{f("ALARMS: %d firing of %d", len(r.Alarms.Firing), r.Alarms.Total)}
	for _, a := range r.Alarms.Firing {
		lines = append(lines, f("  ALARM\t%s\t%s\tsince %s\t%s", a.Name, a.Node, a.Since.Local().Format("15:04:05"), a.Summary))
	}
	for _, a := range r.Alarms.Stale {
		lines = append(lines, f("  stale\t%s\t%s\tnot checked for %s\t%s", a.Name, a.Node, fmtDuration(r.At.Sub(a.CheckedAt).Seconds()), a.Summary))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	tw.Flush()
}

func fmtPercent(p float64) string { return fmt.Sprintf("%.2f%%", p) }

func fmtDuration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
