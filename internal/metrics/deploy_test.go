package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/alarms"
	"github.com/leadcap/leadcap/internal/metrics"
	"go.yaml.in/yaml/v3"
)

// builtIn are series Prometheus makes itself, not leadcap.
func builtIn() []string { return []string{"up"} }

// registered returns every series name leadcap's /metrics can show, with
// one event of each kind recorded so that every family has a series.
func registered(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New("test", nil)
	m.ObserveRequest("POST /api/v1/leads", "leads", 201, time.Millisecond)
	m.LeadSubmitted("expo", "form", metrics.ResultCreated)
	m.ShieldBlock("geo")
	m.RateLimited("ip")
	m.AlarmState("api_5xx", false)
	fams, err := m.Gatherers().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	for _, n := range builtIn() {
		names[n] = true
	}
	return names
}

// metricNames returns the metric names a PromQL expression reads. It is a
// small tokenizer, not a parser: it skips strings, label matchers, range
// and subquery brackets, numbers and durations, keywords, the label lists of
// by/without/on/ignoring/group_left/group_right, and names followed by "("
// or by a grouping (functions and aggregations); every other identifier is
// a metric name.
func metricNames(expr string) ([]string, error) {
	var out []string
	isStart := func(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	isPart := func(c byte) bool { return isStart(c) || (c >= '0' && c <= '9') }
	skipSpace := func(i int) int {
		for i < len(expr) && strings.IndexByte(" \t\r\n", expr[i]) >= 0 {
			i++
		}
		return i
	}
	// skipString returns the index after the string that starts at i.
	skipString := func(i int) (int, error) {
		q := expr[i]
		for j := i + 1; j < len(expr); j++ {
			if expr[j] == '\\' && q != '`' {
				j++
			} else if expr[j] == q {
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string in %q", expr)
	}
	// skipTo returns the index after the close that matches the opener at
	// i, skipping quoted strings.
	skipTo := func(i int, open, close byte) (int, error) {
		depth := 0
		for i < len(expr) {
			switch c := expr[i]; c {
			case '"', '\'', '`':
				var err error
				if i, err = skipString(i); err != nil {
					return 0, err
				}
				continue
			case open:
				depth++
			case close:
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, fmt.Errorf("unbalanced %c in %q", open, expr)
	}
	labelLists := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	operators := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "atan2": true}
	parens := 0
	for i := 0; i < len(expr); {
		c := expr[i]
		var err error
		switch {
		case c == '"' || c == '\'' || c == '`':
			i, err = skipString(i)
		case c == '(' || c == ')':
			if c == '(' {
				parens++
			} else if parens--; parens < 0 {
				return nil, fmt.Errorf("unbalanced ) in %q", expr)
			}
			i++
		case c == '{':
			i, err = skipTo(i, '{', '}')
		case c == '[':
			i, err = skipTo(i, '[', ']')
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.') {
				i++
			}
		case isStart(c):
			j := i
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			word, next := expr[i:j], skipSpace(j)
			i = j
			switch {
			case labelLists[word]:
				if next < len(expr) && expr[next] == '(' {
					i, err = skipTo(next, '(', ')')
				}
			case word == "offset":
				i = next
				for i < len(expr) && isPart(expr[i]) {
					i++
				}
			case operators[word]:
			case next < len(expr) && expr[next] == '(':
			case strings.HasPrefix(expr[next:], "by") || strings.HasPrefix(expr[next:], "without"):
				// an aggregation with its grouping first: sum by (x) (...)
			default:
				out = append(out, word)
			}
		default:
			i++
		}
		if err != nil {
			return nil, err
		}
	}
	if parens != 0 {
		return nil, fmt.Errorf("unbalanced ( in %q", expr)
	}
	return out, nil
}

func TestMetricNames(t *testing.T) {
	tests := map[string]string{
		`sum by (instance) (increase(leadcap_http_requests_total{code=~"5..", route!="GET /readyz"}[5m])) > 10`: "leadcap_http_requests_total",
		`histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="}{"}[$__rate_interval])))`:                      "a_bucket",
		`a / on(instance) group_left(version) b offset 1h and c unless d`:                                       "a b c d",
		`max(x:recorded:rate5m) == bool 1 or vector(0)`:                                                         "x:recorded:rate5m",
		`up{job="leadcap"} == 0`:                                           "up",
		"sum without (code) (rate(e[1m])) * 1e3":                           "e",
		`h{a="x\"}y", b=~'(z'} + label_replace(i, "d", "$1", "s", "(.*)")`: "h i",
		"max by (alarm) (f) + count without(x) (g)":                        "f g",
	}
	for expr, want := range tests {
		got, err := metricNames(expr)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("metricNames(%q) = %v, %v; want %s", expr, got, err, want)
		}
	}
	if _, err := metricNames(`sum(rate(x[5m])`); err == nil {
		t.Error("unbalanced expression accepted")
	}
}

// alertRules is the part of a Prometheus rules file the test reads.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// TestShippedAlertRules parses deploy/prometheus/alerts.yml, checks that
// every metric its expressions read exists, and that each built-in alarm
// has its alert with the same metric, window and threshold.
func TestShippedAlertRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f alertRules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	known := registered(t)
	byAlarm := map[string]string{}
	n := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("incomplete rule %+v", r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			names, err := metricNames(r.Expr)
			if err != nil || len(names) == 0 {
				t.Errorf("%s: %v, metrics %v", r.Alert, err, names)
			}
			for _, name := range names {
				if !known[name] {
					t.Errorf("%s reads %s, which leadcap does not export", r.Alert, name)
				}
			}
			if a := r.Labels["leadcap_alarm"]; a != "" {
				byAlarm[a] = r.Expr
			}
		}
	}
	for _, rule := range alarms.Defaults() {
		expr, ok := byAlarm[rule.Name]
		if !ok {
			t.Errorf("no alert mirrors the built-in alarm %s", rule.Name)
			continue
		}
		threshold := strconv.FormatFloat(rule.Threshold, 'f', -1, 64)
		if !strings.Contains(expr, rule.Metric) || !strings.HasSuffix(strings.TrimSpace(expr), "> "+threshold) {
			t.Errorf("%s: %q does not compare %s with %s", rule.Name, expr, rule.Metric, threshold)
		}
		if !rule.Level && !strings.Contains(expr, "["+promDuration(rule.Window)+"]") {
			t.Errorf("%s: %q does not use the window %s", rule.Name, expr, rule.Window)
		}
	}
	t.Logf("%d alert rules checked", n)
}

// TestShippedDashboard parses deploy/grafana/leadcap.json and checks that
// every metric its panels and variables read exists.
func TestShippedDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "leadcap.json"))
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		ID      int      `json:"id"`
		Type    string   `json:"type"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var dash struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("leadcap.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Fatalf("dashboard without title or uid")
	}
	known := registered(t)
	seen := map[string]bool{}
	ids := map[int]bool{}
	exprs := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				exprs++
				names, err := metricNames(tg.Expr)
				if err != nil || len(names) == 0 {
					t.Errorf("panel %q: %q: %v", p.Title, tg.Expr, err)
				}
				for _, n := range names {
					seen[n] = true
					if !known[n] {
						t.Errorf("panel %q reads %s, which leadcap does not export", p.Title, n)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if rest, ok := strings.CutPrefix(v.Definition, "label_values("); ok {
			metric, _, _ := strings.Cut(rest, ",")
			if !known[strings.TrimSpace(metric)] {
				t.Errorf("variable %s reads %s, which leadcap does not export", v.Name, metric)
			}
		}
	}
	// Every leadcap family is on the dashboard.
	for n := range known {
		if strings.HasPrefix(n, "leadcap_") && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_sum") &&
			!strings.HasSuffix(n, "_count") && !seen[n] && !seen[n+"_bucket"] && !seen[n+"_sum"] {
			t.Errorf("no panel shows %s", n)
		}
	}
	t.Logf("%d panels, %d queries checked", len(ids), exprs)
}
