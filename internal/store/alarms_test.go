package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestAlarmStatesAndHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
		ok := func(node, name string, at time.Time) leadcap.Alarm {
			return leadcap.Alarm{Node: node, Name: name, State: leadcap.AlarmOK, Threshold: 10, Window: 5 * time.Minute,
				Summary: "0 in 5m0s <= 10", Since: at, CheckedAt: at}
		}
		if err := s.SaveAlarms(ctx, []leadcap.Alarm{ok("a", "api_5xx", t0), ok("a", "throttles", t0), ok("b", "api_5xx", t0)}); err != nil {
			t.Fatal(err)
		}
		// Node a's api_5xx fires: one event and the new state, together.
		t1 := t0.Add(time.Minute)
		fired := ok("a", "api_5xx", t1)
		fired.State, fired.Value, fired.Summary = leadcap.AlarmFired, 12.5, "12.5 in 5m0s > 10"
		ev := leadcap.AlarmEvent{Node: "a", Name: "api_5xx", State: leadcap.AlarmFired, Previous: leadcap.AlarmOK,
			Value: 12.5, Threshold: 10, Window: 5 * time.Minute, Summary: fired.Summary, At: t1}
		if err := s.RecordAlarmChange(ctx, ev, fired); err != nil {
			t.Fatal(err)
		}
		back := ev
		back.State, back.Previous, back.Value, back.At = leadcap.AlarmOK, leadcap.AlarmFired, 0, t1.Add(time.Minute)
		if err := s.RecordAlarmChange(ctx, back, ok("a", "api_5xx", back.At)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAlarmChange(ctx, ev, fired); err != nil { // fires again
			t.Fatal(err)
		}

		all, err := s.Alarms(ctx, "")
		if err != nil || len(all) != 3 {
			t.Fatalf("alarms: %d, %v", len(all), err)
		}
		a, err := s.Alarms(ctx, "a")
		if err != nil || len(a) != 2 || a[0].Name != "api_5xx" || a[0] != fired {
			t.Fatalf("node a: %+v, %v; want first %+v", a, err, fired)
		}
		if b, _ := s.Alarms(ctx, "b"); len(b) != 1 || b[0].State != leadcap.AlarmOK {
			t.Fatalf("node b changed: %+v", b)
		}

		h, err := s.AlarmHistory(ctx, store.AlarmHistoryFilter{})
		if err != nil || len(h) != 3 {
			t.Fatalf("history: %d, %v", len(h), err)
		}
		if h[0].State != leadcap.AlarmFired || h[1].State != leadcap.AlarmOK || h[1].Previous != leadcap.AlarmFired || h[0].ID <= h[1].ID {
			t.Fatalf("history not newest first: %+v", h)
		}
		got := h[2]
		got.ID = 0
		if got != ev {
			t.Fatalf("event round trip: %+v, want %+v", got, ev)
		}
		if h, _ := s.AlarmHistory(ctx, store.AlarmHistoryFilter{Node: "b"}); len(h) != 0 {
			t.Fatalf("node b history: %+v", h)
		}
		if h, _ := s.AlarmHistory(ctx, store.AlarmHistoryFilter{Alarm: "api_5xx", Limit: 2}); len(h) != 2 {
			t.Fatalf("limited history: %d", len(h))
		}

		// A rule turned off on node a: its state goes, its history stays.
		n, err := s.ForgetAlarms(ctx, "a", []string{"api_5xx"})
		if err != nil || n != 1 {
			t.Fatalf("forget: %d, %v", n, err)
		}
		if a, _ := s.Alarms(ctx, "a"); len(a) != 1 || a[0].Name != "api_5xx" {
			t.Fatalf("after forget: %+v", a)
		}
		if b, _ := s.Alarms(ctx, "b"); len(b) != 1 {
			t.Fatalf("forget on a touched b: %+v", b)
		}
	})
}

func TestCountLeadsSince(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "expo")
		start := time.Now().Add(-time.Hour)
		for i := range 3 {
			l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
			l.Spam = i == 2
			if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.CountLeadsSince(ctx, start)
		if err != nil || got != (store.LeadCounts{Leads: 2, Spam: 1}) {
			t.Fatalf("since an hour ago: %+v, %v", got, err)
		}
		if got, _ := s.CountLeadsSince(ctx, time.Now().Add(time.Hour)); got != (store.LeadCounts{}) {
			t.Fatalf("since the future: %+v", got)
		}
	})
}
