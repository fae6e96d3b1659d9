package indexer_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/indexer"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestWorkerMakesNewLeadsSearchable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, _ := storetest.Open(t, dsn, store.Options{})
		c := &leadcap.Conference{Slug: "idx", Name: "Idx", Status: leadcap.StatusOpen, Consent: leadcap.ConsentText{Text: "ok", Hash: "h"}}
		if err := st.CreateConference(ctx, c); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		var mu sync.Mutex
		w := &indexer.Worker{Store: st, Log: slog.New(slog.NewTextHandler(&lockedWriter{&mu, &logs}, nil)), Interval: 20 * time.Millisecond}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.Run(runCtx); close(done) }()
		defer func() { stop(); <-done }()

		for i := range 3 {
			l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprint("s", i), FirstName: "Quentin", LastName: fmt.Sprint("Nr", i),
				Email: fmt.Sprintf("q%d@example.com", i), Source: leadcap.SourceForm,
				Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: time.Now()}}
			if _, err := st.CaptureLead(ctx, l, l.Email); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, err := st.ListLeads(ctx, store.LeadQuery{Search: "quentin"})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Leads) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 10s, a search finds %d of 3 new leads", len(p.Leads))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestWorkerDefersNewLeadsDuringABurst checks that while leads arrive
// faster than store.BurstRate the worker leaves the newest for later,
// indexes older ones, and indexes the rest once the burst is over.
func TestWorkerDefersNewLeadsDuringABurst(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Now().Add(-time.Minute).UnixNano())
	st, _ := storetest.Open(t, storetest.SQLite(t), store.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	c := &leadcap.Conference{Slug: "idx", Name: "Idx", Status: leadcap.StatusOpen, Consent: leadcap.ConsentText{Text: "ok", Hash: "h"}}
	if err := st.CreateConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	capture := func(first string, i int64) {
		l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprint(first, i), FirstName: first, LastName: fmt.Sprint("Nr", i),
			Email: fmt.Sprintf("%s%d@example.com", first, i), Source: leadcap.SourceForm,
			Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: time.Now()}}
		if _, err := st.CaptureLead(ctx, l, l.Email); err != nil {
			t.Error(err)
		}
	}
	capture("Olivia", 0) // a minute old
	// Now more than BurstRate leads within the same second.
	clock.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= store.BurstRate+1; i = next.Add(1) {
				capture("Bruno", i)
			}
		})
	}
	wg.Wait()
	if !st.Burst() {
		t.Fatal("no burst")
	}
	found := func(name string) int {
		p, err := st.ListLeads(ctx, store.LeadQuery{Search: name, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Leads)
	}
	w := &indexer.Worker{Store: st, Log: slog.New(slog.DiscardHandler), Interval: 20 * time.Millisecond}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after 10s: %s", what)
			}
		}
	}
	waitFor("the lead from before the burst is not searchable", func() bool { return found("olivia") == 1 })
	time.Sleep(200 * time.Millisecond) // ten more rounds of the worker
	if n := found("bruno"); n != 0 {
		t.Fatalf("%d leads of the burst indexed while it lasts", n)
	}
	clock.Add(int64(2 * time.Second)) // the burst is over
	waitFor("the burst's leads are not searchable after it", func() bool { return found("bruno") == 10 })
}
