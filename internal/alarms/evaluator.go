package alarms

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// maxPending bounds the state changes kept in memory while the database
// cannot take them.
const maxPending = 1000

// Evaluator samples a server's metrics and keeps its alarms. Each server
// runs its own, under its own node name, so servers sharing a database
// never overwrite each other's alarms.
type Evaluator struct {
	Node    string
	Rules   []Rule
	Source  prometheus.Gatherer // the metrics sampled: (*metrics.Metrics).Gatherer()
	Metrics *metrics.Metrics    // where alarm states and the evaluator's own errors are recorded
	Store   *store.Store
	// Notify is called with each change of state; (*Dispatcher).Enqueue
	// delivers it. Nil sends nothing.
	Notify func(Notification)
	Log    *slog.Logger
	// Interval is how often the metrics are sampled; default 5s.
	Interval time.Duration
	Now      func() time.Time

	alarms   map[string]*alarm
	stored   map[string]leadcap.Alarm // this node's states found in the database at start
	pending  []change                 // changes not yet in the database, oldest first
	notes    []Notification           // changes of this step, notified at its end
	lastSave time.Time
	started  bool
}

// alarm is one alarm's state and the samples its rule's window needs.
type alarm struct {
	rule   *Rule
	state  leadcap.Alarm
	points []point
}

type point struct {
	t time.Time
	v float64
}

type change struct {
	event leadcap.AlarmEvent
	state leadcap.Alarm
}

// Run samples and evaluates until ctx ends, starting at once. It returns
// an error only when it cannot start.
func (e *Evaluator) Run(ctx context.Context) error {
	if e.Interval <= 0 {
		e.Interval = 5 * time.Second
	}
	t := time.NewTicker(e.Interval)
	defer t.Stop()
	for {
		e.Step(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step takes one sample, evaluates every rule, records changes of state
// and notifies them.
func (e *Evaluator) Step(ctx context.Context) {
	if e.Now == nil {
		e.Now = time.Now
	}
	if !e.started {
		if err := e.start(ctx); err != nil {
			e.fail("alarms: load stored states", err)
			return // tried again at the next step
		}
	}
	now := e.Now().UTC()
	fams, err := e.Source.Gather()
	if err != nil {
		e.fail("alarms: sample metrics", err)
		return
	}
	byName := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	for i := range e.Rules {
		r := &e.Rules[i]
		for key, v := range sample(r, byName[r.Metric]) {
			e.evaluate(r, key, v, now)
		}
	}
	// Stored first when the database takes it, so that a notified change
	// is in the history; notified in any case.
	e.flush(ctx, now)
	for _, n := range e.notes {
		if e.Notify != nil {
			e.Notify(n)
		}
	}
	e.notes = e.notes[:0]
}

// start loads this node's stored states, so that an alarm that was firing
// when the server stopped is compared against, not forgotten.
func (e *Evaluator) start(ctx context.Context) error {
	stored, err := e.Store.Alarms(ctx, e.Node)
	if err != nil {
		return err
	}
	e.stored = map[string]leadcap.Alarm{}
	for _, a := range stored {
		e.stored[a.Name] = a
	}
	e.alarms = map[string]*alarm{}
	e.started = true
	return nil
}

// sample sums the series of fam that r selects, by r.By's label value. A
// rule without By always has its one alarm, even before its metric exists.
func sample(r *Rule, fam *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	if r.By == "" {
		out[""] = 0
	}
	if fam == nil {
		return out
	}
	for _, m := range fam.GetMetric() {
		labels := make(map[string]string, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if r.Match != nil && !r.Match(labels) {
			continue
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Untyped != nil:
			v = m.Untyped.GetValue()
		}
		out[labels[r.By]] += v
	}
	return out
}

// evaluate adds the sample v of r's alarm for key and changes its state
// when the value crosses the threshold.
func (e *Evaluator) evaluate(r *Rule, key string, v float64, now time.Time) {
	name := r.alarmName(key)
	a := e.alarms[name]
	if a == nil {
		a = &alarm{rule: r, state: leadcap.Alarm{Node: e.Node, Name: name, State: leadcap.AlarmOK, Since: now}}
		if s, ok := e.stored[name]; ok {
			a.state.State, a.state.Since = s.State, s.Since
		}
		e.alarms[name] = a
	}
	value := a.observe(now, v)
	firing := value > r.Threshold
	state := leadcap.AlarmOK
	if firing {
		state = leadcap.AlarmFired
	}
	a.state.Value, a.state.Threshold, a.state.Window = value, r.Threshold, r.Window
	a.state.Summary, a.state.CheckedAt = r.describe(value, firing), now
	e.Metrics.AlarmState(name, firing)
	if state == a.state.State {
		return
	}
	ev := leadcap.AlarmEvent{Node: e.Node, Name: name, State: state, Previous: a.state.State, Value: value,
		Threshold: r.Threshold, Window: r.Window, Summary: a.state.Summary, At: now}
	a.state.State, a.state.Since = state, now
	level := slog.LevelInfo
	if firing {
		level = slog.LevelWarn
	}
	e.Log.Log(context.Background(), level, "alarm "+state, "component", "alarms", "alarm", name, "previous", ev.Previous,
		"summary", ev.Summary, "node", e.Node)
	if len(e.pending) >= maxPending {
		e.Log.Error("alarm history: dropping an unrecorded change", "component", "alarms", "alarm", e.pending[0].event.Name)
		e.Metrics.Error("alarms")
		e.pending = e.pending[1:]
	}
	e.pending = append(e.pending, change{ev, a.state})
	e.notes = append(e.notes, notification(r, ev))
}

// observe adds a sample and returns the alarm's value: the sample itself
// for a level, else the counter's increase over the rule's window. The
// increase is measured from the newest sample at least a window old, or
// from the first sample while there is none that old yet.
func (a *alarm) observe(now time.Time, v float64) float64 {
	if a.rule.Level {
		return v
	}
	a.points = append(a.points, point{now, v})
	cut := now.Add(-a.rule.Window)
	base := 0
	for i, p := range a.points {
		if !p.t.After(cut) {
			base = i
		}
	}
	a.points = a.points[base:]
	return max(0, v-a.points[0].v)
}

// flush writes pending changes to the database, in order, and now and then
// every alarm's state, so that the stored values and check times stay fresh.
func (e *Evaluator) flush(ctx context.Context, now time.Time) {
	for len(e.pending) > 0 {
		c := e.pending[0]
		if err := e.Store.RecordAlarmChange(ctx, c.event, c.state); err != nil {
			e.fail("alarms: record change of "+c.event.Name, err)
			return
		}
		e.pending = e.pending[1:]
	}
	saveEvery := min(30*time.Second, 6*e.Interval)
	if !e.lastSave.IsZero() && now.Sub(e.lastSave) < saveEvery {
		return
	}
	states := e.States()
	if err := e.Store.SaveAlarms(ctx, states); err != nil {
		e.fail("alarms: save states", err)
		return
	}
	if e.lastSave.IsZero() {
		names := make([]string, len(states))
		for i, s := range states {
			names[i] = s.Name
		}
		if n, err := e.Store.ForgetAlarms(ctx, e.Node, names); err != nil {
			e.fail("alarms: forget old alarms", err)
		} else if n > 0 {
			e.Log.Info("forgot the states of alarms no longer configured", "component", "alarms", "count", n)
		}
	}
	e.lastSave = now
}

// States returns the current state of every alarm, by name.
func (e *Evaluator) States() []leadcap.Alarm {
	out := make([]leadcap.Alarm, 0, len(e.alarms))
	for _, a := range e.alarms {
		out = append(out, a.state)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (e *Evaluator) fail(what string, err error) {
	e.Log.Error(what, "component", "alarms", "err", err)
	e.Metrics.Error("alarms")
}

// notification describes a change of state for a person.
func notification(r *Rule, ev leadcap.AlarmEvent) Notification {
	n := Notification{Alarm: ev.Name, Rule: r.Name, State: ev.State, Previous: ev.Previous, Value: ev.Value,
		Threshold: ev.Threshold, Summary: fmt.Sprintf("%s: %s", r.Help, ev.Summary), Node: ev.Node, At: ev.At}
	if !r.Level {
		n.Window = r.Window.String()
	}
	if ev.State == leadcap.AlarmFired {
		n.Action = r.Action
	}
	return n
}
