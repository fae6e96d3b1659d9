// Package outbox copies each raw lead submission, still sealed, from the
// database's outbox to the object store at raw/YYYY/MM/DD/<conference>/<lead>.json.
// A copy that fails is retried with exponential backoff; nothing leaves the
// outbox before the object store has it.
package outbox

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/store"
)

// Worker moves outbox items to the object store.
type Worker struct {
	Store    *store.Store
	Blob     blob.Store
	Log      *slog.Logger
	Interval time.Duration // how often to look when idle
	Batch    int           // items per claim; default 200
	// Lease is how long claimed items are left to this worker before
	// another (or this server after a restart) may take them; default 2m.
	Lease time.Duration
	// Parallel is how many copies run at once; each object store write
	// waits for an fsync, so a few overlap. Default 4: the copies run beside
	// lead ingest and must not starve it; a backlog drains after a burst.
	Parallel int
	Now      func() time.Time
	// Metrics, if set, counts copies written and failures (as errors of
	// the outbox component).
	Metrics *metrics.Metrics
	// BurstDefer is how long a raw copy may wait while leads arrive in a
	// burst (store.Burst): the copies then give the processor to the
	// visitors waiting for their answers, and catch up afterwards. Under
	// load that lasts, copies keep flowing about this far behind. Default
	// 30 s; negative copies at once, burst or not.
	BurstDefer time.Duration
}

// RawObject is the JSON document stored for each raw submission. Sealed
// opens with the key ring and store.SubmissionAD(ConferenceID, SubmissionID).
type RawObject struct {
	ConferenceID string    `json:"conference_id"`
	LeadID       string    `json:"lead_id"`
	SubmissionID string    `json:"submission_id"`
	ReceivedAt   time.Time `json:"received_at"`
	Sealed       []byte    `json:"sealed"`
}

// Run copies until ctx ends. It returns nil on a clean stop.
func (w *Worker) Run(ctx context.Context) error {
	if w.Interval <= 0 {
		w.Interval = time.Second
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		// Keep draining while there is work; sleep only when idle.
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.Log.Error("outbox pass failed", "component", "outbox", "err", err)
				w.Metrics.Error("outbox")
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce claims one batch and copies it. It returns how many items it
// copied.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	batch := w.Batch
	if batch <= 0 {
		batch = 200
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	var waited time.Duration
	if w.Store.Burst() {
		waited = cmp.Or(w.BurstDefer, store.BurstDefer)
		waited = max(waited, 0)
	}
	items, err := w.Store.ClaimOutbox(ctx, batch, cmp.Or(w.Lease, 2*time.Minute), waited)
	if err != nil {
		return 0, err
	}
	parallel := w.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	failed := make([]error, len(items))
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			body, err := json.Marshal(RawObject{it.ConferenceID, it.LeadID, it.SubmissionID, it.ReceivedAt, it.Sealed})
			if err == nil {
				_, err = w.Blob.Put(ctx, it.ObjectKey, bytes.NewReader(body))
			}
			failed[i] = err
		})
	}
	wg.Wait()
	var done []store.OutboxItem
	for i, it := range items {
		if err := failed[i]; err != nil {
			next := now().Add(Backoff(it.Attempts))
			// An error, though it is retried: the object store refuses writes.
			w.Log.Error("raw copy failed, will retry", "component", "outbox", "attempts", it.Attempts+1,
				"retry_at", next.UTC().Format(time.RFC3339), "err", err)
			w.Metrics.Error("outbox")
			if rerr := w.Store.RetryOutbox(ctx, it, next, err.Error()); rerr != nil {
				return len(done), rerr
			}
			continue
		}
		done = append(done, it)
	}
	if len(done) > 0 {
		if err := w.Store.CompleteOutbox(ctx, done...); err != nil {
			return 0, err
		}
		w.Metrics.OutboxCopied(len(done))
	}
	return len(done), nil
}

// Backoff is the wait before retry number attempts+1: 1s doubling to at
// most 5 minutes.
func Backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 9)
	return min(d, 5*time.Minute)
}
