// Package indexer keeps the search index of leads up to date in the
// background: new leads, leads a merge changed, and leads stored before
// search existed get their search terms within moments, off the capture
// path.
package indexer

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/leadcap/leadcap/internal/store"
)

// backlog is how many leads make a round worth logging at info.
const backlog = 1000

// Worker indexes leads until its context ends. Several servers sharing a
// database may each run one: a lead is indexed once.
type Worker struct {
	Store    *store.Store
	Log      *slog.Logger
	Interval time.Duration // between rounds that found nothing; default 1s
	// BurstDefer is how long a new lead may wait for its search terms
	// while leads arrive in a burst (store.Burst), so that indexing does
	// not take the processor from visitors waiting for their answers.
	// Default 30 s; negative indexes at once, burst or not.
	BurstDefer time.Duration
}

// Run indexes what waits, then looks again every Interval.
func (w *Worker) Run(ctx context.Context) {
	every := w.Interval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := w.Store.IndexLeads(ctx, store.IndexOptions{Batch: 500, Cutoff: w.cutoff, Progress: func(done int) {
			if done >= backlog && done%(10*500) == 0 {
				w.Log.InfoContext(ctx, "indexing leads for search", "component", "indexer", "indexed", done)
			}
		}})
		switch {
		case err != nil && ctx.Err() == nil:
			w.Log.ErrorContext(ctx, "index leads for search", "component", "indexer", "indexed", n, "err", err)
		case n >= backlog:
			w.Log.InfoContext(ctx, "indexed leads for search", "component", "indexer", "indexed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cutoff defers the newest leads during a burst of captures.
func (w *Worker) cutoff() time.Time {
	d := cmp.Or(w.BurstDefer, store.BurstDefer)
	if d < 0 || !w.Store.Burst() {
		return time.Time{}
	}
	return time.Now().Add(-d)
}
