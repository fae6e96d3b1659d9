package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func prefixes(t *testing.T, s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range s {
		out = append(out, netip.MustParsePrefix(v))
	}
	return out
}

func TestMetricsAccess(t *testing.T) {
	st := newTestServer(t, storetest.SQLite(t)).store
	serve := func(d server.Deps) *httptest.Server {
		d.Store, d.Capture, d.Log = st, capture.New(st, nil), slog.New(slog.NewTextHandler(io.Discard, nil))
		ts := httptest.NewServer(server.New(d))
		t.Cleanup(ts.Close)
		return ts
	}
	open := serve(server.Deps{})
	behindProxy := serve(server.Deps{TrustedProxies: prefixes(t, "127.0.0.1/32"), MetricsAllow: prefixes(t, "10.0.0.0/8")})
	withToken := serve(server.Deps{MetricsToken: "a-long-metrics-token"})

	tests := []struct {
		name    string
		ts      *httptest.Server
		path    string
		headers map[string]string
		status  int
	}{
		{"loopback", open, "/metrics", nil, 200},
		{"relayed by an unknown proxy", open, "/metrics", map[string]string{"X-Forwarded-For": "203.0.113.5"}, 403},
		{"Forwarded by an unknown proxy", open, "/metrics", map[string]string{"Forwarded": "for=203.0.113.5"}, 403},
		{"X-Real-IP by an unknown proxy", open, "/metrics", map[string]string{"X-Real-Ip": "203.0.113.5"}, 403},
		{"public client through the trusted proxy", behindProxy, "/metrics", map[string]string{"X-Forwarded-For": "203.0.113.5"}, 403},
		{"public client claims loopback in front of it", behindProxy, "/metrics", map[string]string{"X-Forwarded-For": "127.0.0.1, 203.0.113.5"}, 403},
		{"allowed network through the trusted proxy", behindProxy, "/metrics", map[string]string{"X-Forwarded-For": "10.1.2.3"}, 200},
		{"no token", withToken, "/metrics", nil, 401},
		{"wrong token", withToken, "/metrics", map[string]string{"Authorization": "Bearer a-long-metrics-tokeN"}, 401},
		{"basic auth", withToken, "/metrics", map[string]string{"Authorization": "Basic a-long-metrics-token"}, 401},
		{"token", withToken, "/metrics", map[string]string{"Authorization": "Bearer a-long-metrics-token"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tt.ts.URL+tt.path, nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, b)
			}
			if tt.status == 200 && tt.path == "/metrics" && !strings.Contains(string(b), "leadcap_build_info") {
				t.Fatalf("no metrics in %q", b)
			}
			if tt.status != 200 && (strings.Contains(string(b), "leadcap_") || !strings.Contains(string(b), `"error"`)) {
				t.Fatalf("refusal body %q", b)
			}
		})
	}
}

func TestAlarmsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ts := newTestServer(t, dsn)
		now := time.Now().UTC().Truncate(time.Millisecond)
		alarm := func(node, name, state string, checked time.Time) leadcap.Alarm {
			return leadcap.Alarm{Node: node, Name: name, State: state, Threshold: 10, Window: 5 * time.Minute,
				Summary: "s", Since: checked, CheckedAt: checked}
		}
		ctx := context.Background()
		if err := ts.store.SaveAlarms(ctx, []leadcap.Alarm{
			alarm("web-1", "api_5xx", leadcap.AlarmFired, now),
			alarm("web-1", "throttles", leadcap.AlarmOK, now),
			alarm("web-2", "api_5xx", leadcap.AlarmFired, now.Add(-time.Hour)), // web-2 stopped an hour ago
		}); err != nil {
			t.Fatal(err)
		}
		ev := leadcap.AlarmEvent{Node: "web-1", Name: "api_5xx", State: leadcap.AlarmFired, Previous: leadcap.AlarmOK, At: now}
		if err := ts.store.RecordAlarmChange(ctx, ev, alarm("web-1", "api_5xx", leadcap.AlarmFired, now)); err != nil {
			t.Fatal(err)
		}
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "203.0.113.7")
		get := func(query string) (int, map[string]any) {
			r := admin.do(t, "GET", "/api/v1/alarms"+query, nil)
			return r.status, r.body
		}
		status, body := get("")
		alarms, _ := body["alarms"].([]any)
		history, _ := body["history"].([]any)
		if status != 200 || body["firing"] != 1.0 || len(alarms) != 3 || len(history) != 1 {
			t.Fatalf("%d %v", status, body)
		}
		if stale := alarms[2].(map[string]any); stale["node"] != "web-2" || stale["stale"] != true {
			t.Fatalf("stopped server's alarm: %v", stale)
		}
		if status, body := get("?node=web-2&history=0"); status != 200 || body["firing"] != 0.0 || len(body["history"].([]any)) != 0 {
			t.Fatalf("web-2: %d %v", status, body)
		}
		for _, q := range []string{"?history=-1", "?history=1001", "?history=x", "?node=" + strings.Repeat("n", 65)} {
			if status, body := get(q); status != 422 {
				t.Fatalf("%s: %d %v", q, status, body)
			}
		}
	})
}
