package alarms_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/alarms"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// clock is a time that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, _ := storetest.Open(t, dsn, store.Options{})
	return st
}

// recorder collects notifications.
type recorder struct {
	mu   sync.Mutex
	seen []alarms.Notification
}

func (r *recorder) notify(n alarms.Notification) {
	r.mu.Lock()
	r.seen = append(r.seen, n)
	r.mu.Unlock()
}
func (r *recorder) take() []alarms.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

func newEvaluator(t *testing.T, st *store.Store, node, spec string, clk *clock) (*alarms.Evaluator, *metrics.Metrics, *recorder) {
	t.Helper()
	rules, err := alarms.ParseRules(spec)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New("test", clk.Now)
	rec := &recorder{}
	e := &alarms.Evaluator{Node: node, Rules: rules, Source: m.Gatherer(), Metrics: m, Store: st, Notify: rec.notify,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Interval: time.Second, Now: clk.Now}
	return e, m, rec
}

func state(t *testing.T, st *store.Store, node, name string) leadcap.Alarm {
	t.Helper()
	list, err := st.Alarms(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no stored alarm %s on %s in %+v", name, node, list)
	return leadcap.Alarm{}
}

// expect checks that the notifications since the last call are exactly
// want, as alarm:state pairs.
func expect(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	got := rec.take()
	var names []string
	for _, n := range got {
		names = append(names, n.Alarm+":"+n.State)
	}
	if len(names) != len(want) {
		t.Fatalf("notifications %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("notifications %v, want %v", names, want)
		}
	}
}

func TestEvaluatorWindowsAndStates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := openStore(t, dsn)
		clk := &clock{t: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}
		e, m, rec := newEvaluator(t, st, "web-1", "api_5xx=3/10s,component_errors=2/10s,outbox_lag=30s", clk)

		e.Step(ctx)
		expect(t, rec)
		list, _ := st.Alarms(ctx, "web-1")
		if len(list) != 5+len(metrics.Components()) {
			t.Fatalf("stored %d alarms at start: %+v", len(list), list)
		}

		// Four 5xx answers; readiness probes answering 503 do not count.
		clk.Add(time.Second)
		for range 4 {
			m.ObserveRequest("POST /api/v1/leads", "leads", 500, time.Millisecond)
			m.Error("leads")
		}
		for range 20 {
			m.ObserveRequest("GET /readyz", "http", 503, time.Millisecond)
		}
		e.Step(ctx)
		expect(t, rec, "api_5xx:ALARM", "component_errors.leads:ALARM")
		a := state(t, st, "web-1", "api_5xx")
		if a.State != leadcap.AlarmFired || a.Value != 4 || !a.Since.Equal(clk.Now()) || a.Summary != "4 in 10s > 3" {
			t.Fatalf("api_5xx: %+v", a)
		}
		if c := state(t, st, "web-1", "component_errors.exports"); c.State != leadcap.AlarmOK {
			t.Fatalf("another component fired: %+v", c)
		}

		// Within the window the count stays; no new notification.
		clk.Add(5 * time.Second)
		e.Step(ctx)
		expect(t, rec)

		// Once the errors are older than the window, back to OK.
		clk.Add(6 * time.Second)
		e.Step(ctx)
		expect(t, rec, "api_5xx:OK", "component_errors.leads:OK")
		if a := state(t, st, "web-1", "api_5xx"); a.State != leadcap.AlarmOK || a.Value != 0 {
			t.Fatalf("api_5xx after the window: %+v", a)
		}

		// The outbox lag is a level: it fires while the oldest copy waits.
		m.SetOutbox(3, clk.Now().Add(-31*time.Second))
		clk.Add(time.Second)
		e.Step(ctx)
		expect(t, rec, "outbox_lag:ALARM")
		m.SetOutbox(0, time.Time{})
		clk.Add(time.Second)
		e.Step(ctx)
		expect(t, rec, "outbox_lag:OK")

		h, err := st.AlarmHistory(ctx, store.AlarmHistoryFilter{Node: "web-1"})
		if err != nil || len(h) != 6 {
			t.Fatalf("history: %d %v", len(h), err)
		}
		if h[0].Name != "outbox_lag" || h[0].State != leadcap.AlarmOK || h[0].Previous != leadcap.AlarmFired {
			t.Fatalf("newest event: %+v", h[0])
		}

		// Another server on the same database keeps its own alarms.
		e2, m2, rec2 := newEvaluator(t, st, "web-2", "api_5xx=3/10s", clk)
		e2.Step(ctx) // the first sample is the base of the increases
		for range 5 {
			m2.ObserveRequest("POST /api/v1/leads", "leads", 502, time.Millisecond)
		}
		e2.Step(ctx)
		expect(t, rec2, "api_5xx:ALARM")
		if a := state(t, st, "web-1", "api_5xx"); a.State != leadcap.AlarmOK {
			t.Fatalf("web-2 changed web-1: %+v", a)
		}

		// web-2 restarts with the rule changed: its counters start again,
		// the stored ALARM is compared against and returns to OK, and the
		// rules no longer configured are forgotten.
		e3, _, rec3 := newEvaluator(t, st, "web-2", "api_5xx=3/10s,failed_logins=off", clk)
		clk.Add(time.Second)
		e3.Step(ctx)
		expect(t, rec3, "api_5xx:OK")
		list, _ = st.Alarms(ctx, "web-2")
		for _, a := range list {
			if a.Name == "failed_logins" {
				t.Fatalf("failed_logins still stored for web-2: %+v", list)
			}
		}
	})
}

// TestEvaluatorKeepsChangesWhileTheDatabaseFails checks that changes of
// state are notified at once and stored when the database is back.
func TestEvaluatorKeepsChangesWhileTheDatabaseFails(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, storetest.SQLite(t))
	clk := &clock{t: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}
	e, m, rec := newEvaluator(t, st, "web-1", "throttles=1/1m", clk)
	e.Step(ctx)
	if err := st.ExecForTest(ctx, `ALTER TABLE alarm_events RENAME TO alarm_events_away`); err != nil {
		t.Fatal(err)
	}
	m.RateLimited("ip")
	m.RateLimited("ip")
	clk.Add(time.Second)
	e.Step(ctx)
	expect(t, rec, "throttles:ALARM")
	if a := state(t, st, "web-1", "throttles"); a.State != leadcap.AlarmOK {
		t.Fatalf("stored while the table was away: %+v", a)
	}
	if err := st.ExecForTest(ctx, `ALTER TABLE alarm_events_away RENAME TO alarm_events`); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	e.Step(ctx)
	expect(t, rec)
	if a := state(t, st, "web-1", "throttles"); a.State != leadcap.AlarmFired {
		t.Fatalf("not stored once the table is back: %+v", a)
	}
	if h, _ := st.AlarmHistory(ctx, store.AlarmHistoryFilter{}); len(h) != 1 || h[0].State != leadcap.AlarmFired {
		t.Fatalf("history: %+v", h)
	}
}
