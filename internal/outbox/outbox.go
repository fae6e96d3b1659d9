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
	"errors"
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
	written := make([]string, len(items)) // the version each Put stored
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			body, err := json.Marshal(RawObject{it.ConferenceID, it.LeadID, it.SubmissionID, it.ReceivedAt, it.Sealed})
			if err == nil {
				var info blob.Info
				info, err = w.Blob.Put(ctx, it.ObjectKey, bytes.NewReader(body))
				written[i] = info.Version
			}
			failed[i] = err
		})
	}
	wg.Wait()
	var done []store.OutboxItem
	versions := map[int64]string{} // of done, by Seq
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
		versions[it.Seq] = written[i]
	}
	if len(done) == 0 {
		return 0, nil
	}
	// The copies are written: record them, and remove those of leads
	// deleted meanwhile, even if ctx ends now (serve stopping), since
	// nothing would come back for the copy of a lead that is gone.
	//
	// This closes the race with every deletion of a lead (store.EraseLead,
	// the API's and the console's DELETE, a conference deleted with its
	// leads, an archive). A deletion commits its transaction, then purges
	// the lead's raw key. CompleteOutbox's statement starts after each Put
	// above has returned, that is after its version is stored and visible:
	//   - If the deletion committed before that statement, the statement
	//     does not find the submission and the item comes back as gone; the
	//     version is removed below. On SQLite the single writer runs the two
	//     transactions one after the other; on PostgreSQL (READ COMMITTED) a
	//     statement sees what committed before it began, and an UPDATE that
	//     meets a row a concurrent DELETE holds waits for it and skips the
	//     row once the DELETE commits.
	//   - Otherwise the statement found the row, so the deletion commits
	//     after it (on PostgreSQL it waits for this transaction's row lock),
	//     hence after the Put, and its purge, which follows its commit, finds
	//     and removes the version.
	// Either way no version written here outlives the deletion, whatever
	// the order of the commits, and a restart of the process that deleted
	// does not matter. Left open: this process stopping between a Put and
	// the removal below, the database failing CompleteOutbox, or the object
	// store failing the removal (logged with the key to purge); leadcap
	// leads erase purges again after the lease for those.
	//
	// Only the version written here is removed, not every version of the
	// key: an archive keeps its leads' raw copies, and a stale copy (this
	// worker's lease ran out and another worker wrote and completed the
	// same submission before the archive) must not take them along. Every
	// version that lands after a deletion's purge is removed by the worker
	// that wrote it, so that is enough for an erasure.
	cctx := context.WithoutCancel(ctx)
	gone, err := w.Store.CompleteOutbox(cctx, done...)
	if err != nil {
		return 0, err
	}
	w.Metrics.OutboxCopied(len(done))
	w.removeCopies(cctx, gone, versions)
	return len(done), nil
}

// removeCopies removes the versions just written for items whose lead was
// deleted after they were claimed. A removal that fails is logged with the
// key, as an error of the outbox; nothing would try it again.
func (w *Worker) removeCopies(ctx context.Context, gone []store.OutboxItem, versions map[int64]string) {
	for _, it := range gone {
		err := w.Blob.DeleteVersion(ctx, it.ObjectKey, versions[it.Seq])
		if errors.Is(err, blob.ErrNotFound) {
			continue // the deletion's own purge came after the Put
		}
		if err != nil {
			// The key names the conference and the lead by id, as the
			// audit trail does: no personal data.
			w.Log.Error("raw copy of a deleted lead left in the object store: run leadcap objects purge on it",
				"component", "outbox", "key", it.ObjectKey, "err", err)
			w.Metrics.Error("outbox")
			continue
		}
		w.Log.Info("raw copy of a deleted lead removed", "component", "outbox", "key", it.ObjectKey)
		w.Metrics.OutboxRemoved(1)
	}
}

// Backoff is the wait before retry number attempts+1: 1s doubling to at
// most 5 minutes.
func Backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 9)
	return min(d, 5*time.Minute)
}
