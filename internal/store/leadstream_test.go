package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestEachLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "expo")
		other := MustConference(t, s, "other")
		var ids []string
		base := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		for i := range 57 {
			l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
			l.CreatedAt = base.Add(time.Duration(i) * time.Minute)
			l.Spam = i%10 == 3
			l.Company = fmt.Sprint("Company ", i)
			res, err := s.CaptureLead(ctx, l, l.Email)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.LeadID)
		}
		if _, err := s.CaptureLead(ctx, newLead(other, "o1", "o@example.com"), "o@example.com"); err != nil {
			t.Fatal(err)
		}
		walk := func(f store.LeadFilter) []*leadcap.Lead {
			t.Helper()
			var out []*leadcap.Lead
			if err := s.EachLead(ctx, f, func(l *leadcap.Lead) error {
				out = append(out, l)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			n, err := s.CountMatchingLeads(ctx, f)
			if err != nil || n != int64(len(out)) {
				t.Fatalf("CountMatchingLeads(%+v) = %d, %v; EachLead gave %d", f, n, err, len(out))
			}
			return out
		}
		// Pages of 5: many pages, each opened by the worker pool, the
		// leads in id order and with their personal fields.
		got := walk(store.LeadFilter{ConferenceID: c.ID, IncludeSpam: true, Limit: 5})
		if len(got) != 57 {
			t.Fatalf("got %d leads, want 57", len(got))
		}
		for i, l := range got {
			if l.ID != ids[i] || l.Company != fmt.Sprint("Company ", i) || l.Email != fmt.Sprintf("p%d@example.com", i) {
				t.Fatalf("lead %d: %s %q %q, want %s", i, l.ID, l.Company, l.Email, ids[i])
			}
		}
		if n := len(walk(store.LeadFilter{ConferenceID: c.ID, Limit: 7})); n != 51 {
			t.Fatalf("without spam: %d leads, want 51", n)
		}
		if n := len(walk(store.LeadFilter{IncludeSpam: true})); n != 58 {
			t.Fatalf("every conference: %d leads, want 58", n)
		}
		window := walk(store.LeadFilter{ConferenceID: c.ID, IncludeSpam: true, Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute), Limit: 3})
		if len(window) != 10 || window[0].ID != ids[10] || window[9].ID != ids[19] {
			t.Fatalf("created in [10m, 20m): %d leads", len(window))
		}
		// An error from fn stops the walk and comes back.
		stop := errors.New("stop")
		seen := 0
		err := s.EachLead(ctx, store.LeadFilter{Limit: 4}, func(*leadcap.Lead) error {
			if seen++; seen == 9 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || seen != 9 {
			t.Fatalf("stopped walk: %v after %d leads", err, seen)
		}
		// A lead that does not open fails the walk.
		if err := s.ExecForTest(ctx, `UPDATE leads SET data = (SELECT data FROM leads WHERE id = $1) WHERE id = $2`, ids[1], ids[40]); err != nil {
			t.Fatal(err)
		}
		if err := s.EachLead(ctx, store.LeadFilter{ConferenceID: c.ID, IncludeSpam: true, Limit: 5}, func(*leadcap.Lead) error { return nil }); err == nil {
			t.Fatal("a lead sealed for another row was accepted")
		}
	})
}
