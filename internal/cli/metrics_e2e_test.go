package cli_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/alarms/alarmtest"
	"github.com/leadcap/leadcap/internal/store/storetest"
	dto "github.com/prometheus/client_model/go"
)

// TestMetricsFamilies scrapes a running server's /metrics, parses it with
// the Prometheus text parser, and checks that every documented family is
// there and moves when its event happens. Spam, shield blocks and exports
// are recorded through the metrics' methods: the code that causes them is
// not written yet.
func TestMetricsFamilies(t *testing.T) {
	rc := alarmtest.NewReceiver(t, []byte("webhook-secret-for-tests"))
	in := newInstance(t, storetest.SQLite(t), map[string]string{
		"LEADCAP_ALARM_RULES":       "throttles=0/1m",
		"LEADCAP_ALARM_WEBHOOK_URL": rc.URL, "LEADCAP_ALARM_WEBHOOK_SECRET": "webhook-secret-for-tests",
	})
	in.openConference()
	srv := in.serve()
	m := srv.metrics

	type change struct {
		family string
		labels map[string]string
		delta  float64 // at least this much; 0 means exactly unchanged
		level  bool    // a gauge: its value itself must reach delta
	}
	lbl := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	post := func(body string, want int) func() {
		return func() {
			if status, b := srv.post(t, body); status != want {
				t.Fatalf("post: %d %s, want %d", status, b, want)
			}
		}
	}
	var repairCapture, repairObjects func()
	events := []struct {
		name    string
		do      func()
		changes []change
	}{
		{"new lead", post(lead("m-1", "m1@example.com", nil), 201), []change{
			{"leadcap_http_requests_total", lbl("route", "POST /api/v1/leads", "code", "201", "component", "leads"), 1, false},
			{"leadcap_http_request_duration_seconds", lbl("route", "POST /api/v1/leads", "code", "201"), 1, false},
			{"leadcap_leads_captured_total", lbl("conference", "expo", "source", "form"), 1, false},
			{"leadcap_lead_submissions_total", lbl("result", "created"), 1, false},
			{"leadcap_outbox_copied_total", nil, 1, false},
		}},
		{"kiosk lead", post(lead("m-2", "m2@example.com", map[string]any{"source": "kiosk"}), 201), []change{
			{"leadcap_leads_captured_total", lbl("conference", "expo", "source", "kiosk"), 1, false},
		}},
		{"merge", post(lead("m-3", "M1@example.com", nil), 200), []change{
			{"leadcap_lead_submissions_total", lbl("result", "updated"), 1, false},
			{"leadcap_leads_captured_total", lbl("source", "form"), 1, false},
		}},
		{"replay", post(lead("m-3", "M1@example.com", nil), 200), []change{
			{"leadcap_lead_submissions_total", lbl("result", "replayed"), 1, false},
			{"leadcap_leads_captured_total", nil, 0, false},
		}},
		{"validation failure", post(lead("m-4", "not-an-email", map[string]any{"phone": "12"}), 422), []change{
			{"leadcap_validation_failures_total", lbl("field", "email"), 1, false},
			{"leadcap_validation_failures_total", lbl("field", "phone"), 1, false},
			{"leadcap_http_requests_total", lbl("route", "POST /api/v1/leads", "code", "422"), 1, false},
		}},
		{"server error", func() {
			repairCapture = in.breakCapture()
			post(lead("m-5", "m5@example.com", nil), 500)()
			repairCapture()
		}, []change{
			{"leadcap_errors_total", lbl("component", "leads"), 1, false},
			{"leadcap_http_requests_total", lbl("code", "500"), 1, false},
		}},
		{"outbox waits", func() {
			repairObjects = in.breakObjectStore()
			post(lead("m-6", "m6@example.com", nil), 201)()
		}, []change{
			{"leadcap_outbox_pending", nil, 1, true},
			{"leadcap_outbox_lag_seconds", nil, 0.2, true},
			{"leadcap_errors_total", lbl("component", "outbox"), 1, false},
		}},
		{"outbox catches up", func() { repairObjects() }, []change{
			{"leadcap_outbox_copied_total", nil, 1, false},
			{"leadcap_object_store_size_bytes", nil, 1, false},
		}},
		{"database grows", func() {
			for i := range 40 {
				post(lead(fmt.Sprint("grow-", i), fmt.Sprintf("grow%d@example.com", i), map[string]any{"notes": fmt.Sprintf("%0500d", i)}), 201)()
			}
		}, []change{{"leadcap_database_size_bytes", nil, 1, false}}},
		{"spam", func() { m.SpamQuarantined() }, []change{{"leadcap_spam_quarantined_total", nil, 1, false}}},
		{"shield block", func() { m.ShieldBlock("geo") }, []change{{"leadcap_shield_blocks_total", lbl("rule", "geo"), 1, false}}},
		{"failed login", func() {
			if status := srv.login(t, "admin@localhost", "wrong"); status != 401 {
				t.Fatalf("wrong password: %d", status)
			}
		}, []change{{"leadcap_failed_logins_total", nil, 1, false}}},
		{"export", func() { m.ExportDone("csv", 120, 4096) }, []change{
			{"leadcap_exports_total", lbl("format", "csv"), 1, false},
			{"leadcap_export_rows_total", nil, 120, false},
			{"leadcap_export_bytes_total", nil, 4096, false},
		}},
		{"throttle fires an alarm", func() {
			for i := 0; srv.login(t, "admin@localhost", "wrong") != 429; i++ {
				if i == 20 {
					t.Fatal("20 wrong passwords were never throttled")
				}
			}
		}, []change{
			{"leadcap_rate_limited_total", lbl("scope", "auth"), 1, false},
			{"leadcap_alarm_firing", lbl("alarm", "throttles"), 1, false},
			{"leadcap_alarm_notifications_total", lbl("channel", "webhook", "result", "sent"), 1, false},
		}},
	}
	for _, ev := range events {
		before := srv.scrape(t)
		ev.do()
		var after map[string]*dto.MetricFamily
		waitFor(t, 15*time.Second, ev.name+" to move its metrics", func() bool {
			after = srv.scrape(t)
			for _, c := range ev.changes {
				d := value(after, c.family, c.labels) - value(before, c.family, c.labels)
				if c.level {
					d = value(after, c.family, c.labels)
				}
				if after[c.family] == nil || (c.delta == 0 && d != 0) || d < c.delta {
					return false
				}
			}
			return true
		})
	}

	fams := srv.scrape(t)
	for _, name := range []string{
		"leadcap_http_requests_total", "leadcap_http_request_duration_seconds", "leadcap_leads_captured_total",
		"leadcap_lead_submissions_total", "leadcap_validation_failures_total", "leadcap_spam_quarantined_total",
		"leadcap_shield_blocks_total", "leadcap_rate_limited_total", "leadcap_errors_total", "leadcap_failed_logins_total",
		"leadcap_exports_total", "leadcap_export_rows_total", "leadcap_export_bytes_total", "leadcap_outbox_copied_total", "leadcap_outbox_removed_total",
		"leadcap_outbox_pending", "leadcap_outbox_lag_seconds", "leadcap_database_size_bytes",
		"leadcap_object_store_size_bytes", "leadcap_alarm_firing", "leadcap_alarm_notifications_total",
		"leadcap_build_info", "go_goroutines", "go_memstats_heap_alloc_bytes", "go_build_info",
		"process_start_time_seconds", "process_resident_memory_bytes",
	} {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	if v := value(fams, "leadcap_build_info", lbl("version", "dev")); v != 1 {
		t.Errorf("build info: %v", v)
	}
	waitFor(t, 15*time.Second, "the outbox to drain", func() bool {
		return value(srv.scrape(t), "leadcap_outbox_pending", nil) == 0
	})
}
