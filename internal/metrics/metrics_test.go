package metrics_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// families scrapes m's handler and parses the text format.
func families(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// labelValues returns the values of label across the series of a family.
func labelValues(f *dto.MetricFamily, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestLabelValuesAreBounded(t *testing.T) {
	m := metrics.New("v1.2.3", nil)
	m.ValidationFailed(map[string]string{
		"email": "bad", "answers.size": "bad", "answers.ana@example.com": "bad", "consent.contact": "bad",
		"consent.whatever": "bad", "zanzibar@example.com": "bad", "+5016223456": "bad",
	})
	m.ShieldBlock("geo")
	m.ShieldBlock("203.0.113.9")
	m.ShieldBlock("Mallory@example.com")
	m.RateLimited("login")
	m.RateLimited(strings.Repeat("a", 40))
	m.Error("leads")
	m.Error("../../etc/passwd")
	m.LeadSubmitted("belize-expo", "kiosk", metrics.ResultCreated)
	m.LeadSubmitted("belize-expo", "a source from a client", metrics.ResultUpdated)
	m.LeadSubmitted("belize-expo", "form", metrics.ResultReplayed)
	m.ExportDone("pdf", 10, 100)
	m.ObserveRequest("POST /api/v1/leads", "somewhere", 201, time.Millisecond)
	fams := families(t, m)

	check := func(family, label string, want map[string]float64) {
		t.Helper()
		got := labelValues(fams[family], label)
		for v, n := range want {
			if got[v] != n {
				t.Errorf("%s{%s=%q} = %v, want %v (all: %v)", family, label, v, got[v], n, got)
			}
		}
		for v, n := range got {
			if _, ok := want[v]; !ok && n != 0 {
				t.Errorf("%s has unexpected %s=%q: %v", family, label, v, n)
			}
		}
	}
	check("leadcap_validation_failures_total", "field", map[string]float64{"email": 1, "answers": 2, "consent.contact": 1, "consent": 1, "other": 2})
	check("leadcap_shield_blocks_total", "rule", map[string]float64{"geo": 1, "other": 2})
	check("leadcap_rate_limited_total", "scope", map[string]float64{"login": 1, "other": 1})
	check("leadcap_errors_total", "component", map[string]float64{"leads": 1, "other": 1})
	check("leadcap_leads_captured_total", "source", map[string]float64{"kiosk": 1, "other": 1})
	check("leadcap_lead_submissions_total", "result", map[string]float64{"created": 1, "updated": 1, "replayed": 1})
	check("leadcap_exports_total", "format", map[string]float64{"other": 1})
	check("leadcap_http_requests_total", "component", map[string]float64{"other": 1})
	if got := labelValues(fams["leadcap_build_info"], "version"); len(got) != 1 {
		t.Errorf("build info: %v", got)
	}
	for _, want := range []string{"go_goroutines", "go_build_info", "process_start_time_seconds", "leadcap_outbox_lag_seconds"} {
		if fams[want] == nil {
			t.Errorf("no %s", want)
		}
	}
}

func TestOutboxLagGrowsWithoutUpdates(t *testing.T) {
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	m := metrics.New("test", func() time.Time { return now })
	m.SetOutbox(2, now.Add(-90*time.Second))
	lag := func() float64 {
		return families(t, m)["leadcap_outbox_lag_seconds"].GetMetric()[0].GetGauge().GetValue()
	}
	if got := lag(); got != 90 {
		t.Fatalf("lag %v, want 90", got)
	}
	now = now.Add(time.Minute) // nothing refreshed the outbox: it still waits
	if got := lag(); got != 150 {
		t.Fatalf("lag %v, want 150", got)
	}
	m.SetOutbox(0, time.Time{})
	if got := lag(); got != 0 {
		t.Fatalf("lag %v with nothing waiting", got)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveRequest("x", "leads", 200, time.Second)
	m.LeadSubmitted("x", "form", metrics.ResultCreated)
	m.ValidationFailed(map[string]string{"email": ""})
	m.SpamQuarantined()
	m.ShieldBlock("geo")
	m.RateLimited("ip")
	m.Error("leads")
	m.FailedLogin()
	m.ExportDone("csv", 1, 1)
	m.OutboxCopied(1)
	m.SetOutbox(1, time.Now())
	m.SetDatabaseSize(1)
	m.SetObjectStoreSize(1)
	m.AlarmState("x", true)
	m.AlarmNotification("email", true)
}
