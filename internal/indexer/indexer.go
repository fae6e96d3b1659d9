// Package indexer keeps the search index of leads up to date in the
// background: new leads, leads a merge changed, and leads stored before
// search existed get their search terms within moments, off the capture
// path.
package indexer

import (
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
		n, err := w.Store.IndexLeads(ctx, 500, func(done int) {
			if done >= backlog && done%(10*500) == 0 {
				w.Log.InfoContext(ctx, "indexing leads for search", "component", "indexer", "indexed", done)
			}
		})
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
