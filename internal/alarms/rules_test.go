package alarms

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreTheGuides(t *testing.T) {
	want := map[string]struct {
		threshold float64
		window    time.Duration
	}{
		"api_5xx":          {10, 5 * time.Minute},
		"component_errors": {5, 5 * time.Minute},
		"throttles":        {10, 5 * time.Minute},
		"shield_blocks":    {100, 5 * time.Minute},
		"outbox_lag":       {300, 0},
		"failed_logins":    {20, 5 * time.Minute},
	}
	rules := Defaults()
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(rules), len(want))
	}
	for _, r := range rules {
		w, ok := want[r.Name]
		if !ok || r.Threshold != w.threshold || r.Window != w.window {
			t.Errorf("%s: %v in %v, want %v in %v", r.Name, r.Threshold, r.Window, w.threshold, w.window)
		}
		if r.Help == "" || r.Action == "" || !strings.HasPrefix(r.Metric, "leadcap_") {
			t.Errorf("%s: help, action or metric missing: %+v", r.Name, r)
		}
	}
}

func TestParseRules(t *testing.T) {
	tests := []struct {
		spec    string
		check   func(t *testing.T, rules map[string]Rule)
		problem string // in the error; "" for none
	}{
		{"", func(t *testing.T, r map[string]Rule) {
			if len(r) != 6 {
				t.Errorf("%d rules", len(r))
			}
		}, ""},
		{" api_5xx = 3/10s , outbox_lag=2s,failed_logins=off", func(t *testing.T, r map[string]Rule) {
			if a := r["api_5xx"]; a.Threshold != 3 || a.Window != 10*time.Second {
				t.Errorf("api_5xx: %+v", a)
			}
			if o := r["outbox_lag"]; o.Threshold != 2 {
				t.Errorf("outbox_lag: %v", o.Threshold)
			}
			if _, on := r["failed_logins"]; on || len(r) != 5 {
				t.Errorf("failed_logins still on: %d rules", len(r))
			}
			if r["throttles"].Threshold != 10 {
				t.Errorf("unnamed rule changed")
			}
		}, ""},
		{"api_5xx", nil, "want NAME=THRESHOLD/WINDOW"},
		{"api_500=1/1m", nil, `"api_500": unknown rule`},
		{"api_5xx=ten/5m", nil, "api_5xx=ten/5m: want THRESHOLD/WINDOW"},
		{"api_5xx=10", nil, "api_5xx=10: want THRESHOLD/WINDOW"},
		{"api_5xx=10/0s", nil, "want THRESHOLD/WINDOW"},
		{"api_5xx=-1/5m", nil, "want THRESHOLD/WINDOW"},
		{"outbox_lag=5", nil, "outbox_lag=5: want a positive duration"},
		{"outbox_lag=5m,throttles=x/y", nil, "throttles=x/y"},
	}
	for _, tt := range tests {
		rules, err := ParseRules(tt.spec)
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("ParseRules(%q) = %v, want an error with %q", tt.spec, err, tt.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRules(%q): %v", tt.spec, err)
			continue
		}
		byName := map[string]Rule{}
		for _, r := range rules {
			byName[r.Name] = r
		}
		tt.check(t, byName)
	}
}
