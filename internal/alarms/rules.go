// Package alarms is leadcap's built-in alarm evaluator: it samples the
// server's own metrics every few seconds, computes each rule's value over
// its window, keeps each alarm's state (OK or ALARM) with a history in the
// database, and notifies a webhook and/or an email address on each change.
//
// The default rules are those of the operations guide leadcap replaces:
// more than 10 server errors (5xx) in 5 minutes, more than 5 errors of one
// component in 5 minutes, more than 10 throttled (rate-limited) requests in
// 5 minutes, more than 100 requests blocked by the shield in 5 minutes; and
// two more: raw copies waiting in the outbox for over 5 minutes, and more
// than 20 failed sign-ins in 5 minutes.
package alarms

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Rule is one alarm rule over a metric family of the server's own metrics.
type Rule struct {
	Name   string // e.g. api_5xx
	Help   string // what it watches, in a sentence
	Action string // what an operator should do when it fires
	Metric string // the metric family, e.g. leadcap_http_requests_total
	// Match selects the series of Metric that count; nil selects all.
	Match func(labels map[string]string) bool
	// By splits the rule into one alarm per value of this label (e.g.
	// "component"), named Name.value; "" makes one alarm.
	By string
	// Level compares the metric's current value (a gauge) with Threshold;
	// otherwise the rule compares the counter's increase over Window.
	Level     bool
	Threshold float64
	Window    time.Duration
}

// alarmName names the alarm of rule r for the By label value v.
func (r Rule) alarmName(v string) string {
	if r.By == "" {
		return r.Name
	}
	return r.Name + "." + v
}

// describe says what the value means against the threshold, in one line.
func (r Rule) describe(value float64, firing bool) string {
	op := "<="
	if firing {
		op = ">"
	}
	if r.Level {
		return fmt.Sprintf("%s %s %s", (time.Duration(value * float64(time.Second))).Round(time.Second), op,
			time.Duration(r.Threshold*float64(time.Second)))
	}
	return fmt.Sprintf("%s in %s %s %s", strconv.FormatFloat(value, 'f', -1, 64), r.Window, op,
		strconv.FormatFloat(r.Threshold, 'f', -1, 64))
}

// Defaults returns the default rules.
func Defaults() []Rule {
	return []Rule{
		{
			Name: "api_5xx", Help: "HTTP requests answered with a server error (5xx), readiness probes excluded",
			Action: "Read the error lines of the log (level ERROR) for their component and request_id; review recent deployments.",
			Metric: "leadcap_http_requests_total", Threshold: 10, Window: 5 * time.Minute,
			Match: func(l map[string]string) bool {
				return strings.HasPrefix(l["code"], "5") && l["route"] != "GET /readyz"
			},
		},
		{
			Name: "component_errors", Help: "internal errors of one component (a request area or a background worker)",
			Action: "Read the log lines of that component at level ERROR; review recent changes to it.",
			Metric: "leadcap_errors_total", By: "component", Threshold: 5, Window: 5 * time.Minute,
		},
		{
			Name: "throttles", Help: "requests refused by a rate limit (429)",
			Action: "Check whether one client or many are limited; raise the limit if honest traffic is refused.",
			Metric: "leadcap_rate_limited_total", Threshold: 10, Window: 5 * time.Minute,
		},
		{
			Name: "shield_blocks", Help: "requests blocked by the shield",
			Action: "Read the shield's log lines for the rules that blocked; look for an attack pattern and block its sources.",
			Metric: "leadcap_shield_blocks_total", Threshold: 100, Window: 5 * time.Minute,
		},
		{
			Name: "outbox_lag", Help: "age of the oldest raw lead copy not yet written to the object store",
			Action: "Check that the object store is reachable and writable; read the outbox's log lines.",
			Metric: "leadcap_outbox_lag_seconds", Level: true, Threshold: (5 * time.Minute).Seconds(),
		},
		{
			Name: "failed_logins", Help: "failed sign-in attempts",
			Action: "Look for password guessing in the auth event log; block the sources if it is an attack.",
			Metric: "leadcap_failed_logins_total", Threshold: 20, Window: 5 * time.Minute,
		},
	}
}

// ParseRules returns the default rules changed by spec, a comma-separated
// list of NAME=THRESHOLD/WINDOW (e.g. api_5xx=10/5m), NAME=DURATION for
// outbox_lag (e.g. outbox_lag=5m), or NAME=off to turn a rule off. Rules
// spec does not name keep their defaults. Every mistake is named.
func ParseRules(spec string) ([]Rule, error) {
	rules := Defaults()
	byName := map[string]int{}
	for i, r := range rules {
		byName[r.Name] = i
	}
	off := map[string]bool{}
	var bad []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		i, known := byName[name]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%q: want NAME=THRESHOLD/WINDOW, NAME=DURATION or NAME=off", item))
			continue
		case !known:
			bad = append(bad, fmt.Sprintf("%q: unknown rule (known: %s)", name, strings.Join(ruleNames(rules), ", ")))
			continue
		case val == "off":
			off[name] = true
			continue
		}
		r := &rules[i]
		if r.Level {
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				bad = append(bad, fmt.Sprintf("%s=%s: want a positive duration like 5m", name, val))
				continue
			}
			r.Threshold = d.Seconds()
			continue
		}
		th, win, ok := strings.Cut(val, "/")
		n, err := strconv.ParseFloat(th, 64)
		d, derr := time.ParseDuration(win)
		if !ok || err != nil || n < 0 || derr != nil || d <= 0 {
			bad = append(bad, fmt.Sprintf("%s=%s: want THRESHOLD/WINDOW like 10/5m", name, val))
			continue
		}
		r.Threshold, r.Window = n, d
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("alarm rules: %s", strings.Join(bad, "; "))
	}
	var out []Rule
	for _, r := range rules {
		if !off[r.Name] {
			out = append(out, r)
		}
	}
	return out, nil
}

func ruleNames(rules []Rule) []string {
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return names
}
