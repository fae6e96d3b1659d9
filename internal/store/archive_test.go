package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestDeleteArchivedLeads deletes the old leads an archive holds whole and
// keeps those with what an export leaves out, those changed since the
// archive began, and the new ones.
func TestDeleteArchivedLeads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		a, b := MustConference(t, s, "arch-a"), MustConference(t, s, "arch-b")
		old := time.Now().AddDate(-3, 0, 0)
		capture := func(c *leadcap.Conference, name string, created time.Time, spam bool) string {
			t.Helper()
			l := newLead(c, name, name+"@example.com")
			l.CreatedAt, l.Spam = created, spam
			r, err := s.CaptureLead(ctx, l, l.Email)
			if err != nil {
				t.Fatal(err)
			}
			return r.LeadID
		}
		plain := capture(a, "plain", old, false)
		spam := capture(a, "spam", old, true)
		atB := capture(b, "at-b", old, false)
		rated := capture(a, "rated", old, false)
		tagged := capture(a, "tagged", old, false)
		noted := capture(a, "noted", old, false)
		changed := capture(a, "changed", old, false)
		recent := capture(a, "recent", time.Now(), false)
		hot, tags := leadcap.RatingHot, []string{"vip"}
		for id, c := range map[string]store.LeadChange{rated: {Rating: &hot}, tagged: {Tags: &tags},
			noted: {Note: &leadcap.LeadNote{Author: "staff", Text: "call back"}}} {
			if err := s.UpdateLead(ctx, id, c); err != nil {
				t.Fatal(err)
			}
		}
		// Every raw copy is written, but the one of a lead captured now.
		items, err := s.ClaimOutbox(ctx, 100, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompleteOutbox(ctx, items...); err != nil {
			t.Fatal(err)
		}
		waiting := capture(a, "waiting", old, false)

		started := time.Now()
		time.Sleep(2 * time.Millisecond)
		again := newLead(a, "changed-2", "changed@example.com")
		if r, err := s.CaptureLead(ctx, again, again.Email); err != nil || r.LeadID != changed {
			t.Fatalf("merge: %+v %v", r, err)
		}

		cutoff := time.Now().AddDate(-2, 0, 0)
		var calls []int64
		deleted, kept, err := s.DeleteArchivedLeads(ctx, store.LeadFilter{ConferenceID: b.ID, Until: cutoff, IncludeSpam: true},
			started, func(n int64) { calls = append(calls, n) })
		if err != nil || deleted != 1 || kept != 0 || !slices.Equal(calls, []int64{1}) {
			t.Fatalf("at b: deleted %d kept %d calls %v, %v", deleted, kept, calls, err)
		}
		deleted, kept, err = s.DeleteArchivedLeads(ctx, store.LeadFilter{Until: cutoff, IncludeSpam: true}, started, nil)
		if err != nil || deleted != 2 || kept != 5 {
			t.Fatalf("everywhere: deleted %d kept %d, %v; want 2 and 5", deleted, kept, err)
		}
		for id, want := range map[string]bool{plain: false, spam: false, atB: false, rated: true, tagged: true,
			noted: true, changed: true, waiting: true, recent: true} {
			_, err := s.Lead(ctx, id)
			if got := err == nil; got != want {
				t.Errorf("lead %s there: %v, want %v (%v)", id, got, want, err)
			}
		}
		if n, _ := s.CountForTest(ctx, `SELECT count(*) FROM submissions WHERE lead_id IN ($1, $2, $3)`, plain, spam, atB); n != 0 {
			t.Fatalf("%d submissions of deleted leads left", n)
		}
	})
}
