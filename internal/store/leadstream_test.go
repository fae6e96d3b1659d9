package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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
				cp := *l // the lead is used again for a later page
				out = append(out, &cp)
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

// TestStreamLeads runs work on the pool and emit in order, over many pages
// whose memory is used again; an error from work or a cancelled context
// stops the walk with no goroutine left behind.
func TestStreamLeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "expo")
		var want []string
		for i, id := range captureLeads(t, s, c, 40) {
			want = append(want, fmt.Sprintf("%s p%d@example.com", id, i))
		}
		before := runtime.NumGoroutine()
		f := store.LeadFilter{ConferenceID: c.ID, Limit: 3}
		// work describes each lead of its page in out, which holds what
		// an earlier page left there.
		describe := func(leads []*leadcap.Lead, out *[]string) error {
			*out = (*out)[:0]
			for _, l := range leads {
				*out = append(*out, l.ID+" "+l.Email)
			}
			return nil
		}
		var got []string
		if err := store.StreamLeads(ctx, s, f, describe, func(leads []*leadcap.Lead, out *[]string) error {
			if len(*out) != len(leads) {
				t.Errorf("page of %d leads, work made %d", len(leads), len(*out))
			}
			got = append(got, *out...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages in order:\n got %q\nwant %q", got, want)
		}

		// An error from work on the fifth page comes back, after the pages
		// before it and none after.
		bad := errors.New("bad page")
		emitted := 0
		err := store.StreamLeads(ctx, s, f, func(leads []*leadcap.Lead, out *[]string) error {
			if leads[0].Email == "p12@example.com" {
				return bad
			}
			return describe(leads, out)
		}, func(leads []*leadcap.Lead, _ *[]string) error {
			emitted += len(leads)
			return nil
		})
		if !errors.Is(err, bad) || emitted != 12 {
			t.Fatalf("failing work: %v after %d leads, want %v after 12", err, emitted, bad)
		}

		// A context cancelled while emitting stops the reader and the workers.
		cctx, cancel := context.WithCancel(ctx)
		emitted = 0
		err = store.StreamLeads(cctx, s, f, describe, func(leads []*leadcap.Lead, _ *[]string) error {
			if emitted += len(leads); emitted == 6 {
				cancel()
			}
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) || emitted != 6 {
			t.Fatalf("cancelled walk: %v after %d leads", err, emitted)
		}
		waitGoroutines(t, before)
	})
}

// captureLeads captures n leads at c, the i-th with the email
// p<i>@example.com, and returns their ids.
func captureLeads(t *testing.T, s *store.Store, c *leadcap.Conference, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		l := newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i))
		res, err := s.CaptureLead(context.Background(), l, l.Email)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.LeadID)
	}
	return ids
}

// waitGoroutines waits for the goroutines to be back to n, the number
// before a walk, and fails if they are not within a few seconds.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the walks:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEachLeadStorageOrder: on SQLite, the leads of every conference come
// in the order they were stored (rowid), and those of one conference in id
// order; on PostgreSQL both are in id order. Either way the order is the
// same on every run.
func TestEachLeadStorageOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		c := MustConference(t, s, "expo")
		ids := captureLeads(t, s, c, 5)
		idOrder := slices.Clone(ids)
		stored := append(slices.Clone(ids[1:]), ids[0])
		if s.Dialect() == store.SQLite {
			// The first lead moves to the end of the table.
			if err := s.ExecForTest(ctx, `UPDATE leads SET rowid = (SELECT max(rowid) + 1 FROM leads) WHERE id = $1`, ids[0]); err != nil {
				t.Fatal(err)
			}
		} else {
			stored = idOrder
		}
		walk := func(f store.LeadFilter) []string {
			var out []string
			if err := s.EachLead(ctx, f, func(l *leadcap.Lead) error {
				out = append(out, l.ID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		for range 2 {
			if got := walk(store.LeadFilter{Limit: 2}); !slices.Equal(got, stored) {
				t.Fatalf("every conference: %q, want %q", got, stored)
			}
			if got := walk(store.LeadFilter{ConferenceID: c.ID, Limit: 2}); !slices.Equal(got, idOrder) {
				t.Fatalf("one conference: %q, want %q", got, idOrder)
			}
		}
	})
}
