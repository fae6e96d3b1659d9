package indexer_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/indexer"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestWorkerMakesNewLeadsSearchable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		keys, _, err := crypto.LoadOrCreate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(ctx, dsn, store.Options{Sealer: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
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
