package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestBurstDefersBackgroundWork captures leads faster than store.BurstRate
// and checks that the raw copies and search terms of the newest leads wait
// while the burst lasts, that older ones do not, and that all of them are
// taken once it is over.
func TestBurstDefersBackgroundWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var clock atomic.Int64
		start := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		clock.Store(start.UnixNano())
		s, _ := storetest.Open(t, dsn, store.Options{Merge: testMerge,
			Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
		c := MustConference(t, s, "burst")
		mustCapture(t, s, c, person{"Old", "Lead", "old@example.com", "Acme"}, "old")
		if s.Burst() {
			t.Fatal("one capture is a burst")
		}

		// A minute later, more than BurstRate leads within one second.
		burstAt := start.Add(time.Minute)
		clock.Store(burstAt.UnixNano())
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 8 {
			wg.Go(func() {
				for i := next.Add(1); i <= store.BurstRate+1; i = next.Add(1) {
					email := fmt.Sprintf("b%d@example.com", i)
					if _, err := s.CaptureLead(ctx, newLead(c, fmt.Sprint("b", i), email), email); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if !s.Burst() {
			t.Fatalf("%d captures in one second are not a burst", store.BurstRate+1)
		}
		items, err := s.ClaimOutbox(ctx, 1000, time.Minute, 30*time.Second)
		if err != nil || len(items) != 1 || items[0].SubmissionID != "old" {
			t.Fatalf("claimed during the burst: %d items (want only the old one), %v", len(items), err)
		}
		n, err := s.IndexLeads(ctx, store.IndexOptions{Cutoff: func() time.Time { return burstAt.Add(-30 * time.Second) }})
		if err != nil || n != 1 {
			t.Fatalf("indexed during the burst: %d (want only the old lead), %v", n, err)
		}

		// Two seconds on, the burst is over: everything is taken.
		clock.Store(burstAt.Add(2 * time.Second).UnixNano())
		if s.Burst() {
			t.Fatal("still a burst two seconds after the last capture")
		}
		items, err = s.ClaimOutbox(ctx, 1000, time.Minute, 0)
		if err != nil || len(items) != store.BurstRate+1 {
			t.Fatalf("claimed after the burst: %d items, want %d, %v", len(items), store.BurstRate+1, err)
		}
		n, err = s.IndexLeads(ctx, store.IndexOptions{Cutoff: func() time.Time { return time.Time{} }})
		if err != nil || n != store.BurstRate+1 {
			t.Fatalf("indexed after the burst: %d, want %d, %v", n, store.BurstRate+1, err)
		}
	})
}
