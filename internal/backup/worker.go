package backup

import (
	"context"
	"time"

	"github.com/leadcap/leadcap/internal/metrics"
)

// Worker takes a backup every Interval and removes the backups older than
// Retention, with the erasure records older than the oldest one kept. Every server runs one; on PostgreSQL one at a time takes a
// backup (Store.TryLock), and each waits until the newest backup in the
// object store is Interval old, so neither another server's backup nor a
// restart makes backups more or less frequent. With no backup yet, the
// first is due a minute after the worker started (or Interval, if
// shorter): a new installation, or one whose backups all expired, should
// not go an interval without one, nor lose it to restarts more frequent
// than the interval.
type Worker struct {
	Service   *Service
	Interval  time.Duration
	Retention time.Duration
	Metrics   *metrics.Metrics // optional
}

// firstDelay is how long after start the first backup of a store without
// any is taken: long enough that a server which fails to start properly
// is not backing up meanwhile.
const firstDelay = time.Minute

// lockName is the lock a server holds while it takes a backup.
const lockName = "backup"

// Run takes backups until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	started := w.Service.now()
	// After a failed attempt, or while another server takes the backup,
	// wait this long before looking again.
	pause := min(w.Interval, 5*time.Minute)
	var notBefore time.Time
	for {
		next := w.due(ctx, started)
		if next.Before(notBefore) {
			next = notBefore
		}
		t := time.NewTimer(max(0, next.Sub(w.Service.now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := w.RunOnce(ctx); err != nil || w.due(ctx, started).Before(w.Service.now()) {
			// Failed, or another server holds the lock: its backup is
			// not there yet.
			notBefore = w.Service.now().Add(pause)
		}
	}
}

// due returns when the next backup is due, and refreshes the gauge of the
// newest backup. When the object store cannot be listed it is due now: the
// backup will fail and say why.
func (w *Worker) due(ctx context.Context, started time.Time) time.Time {
	newest, ok, err := w.Service.Newest(ctx)
	if err != nil {
		return w.Service.now()
	}
	if !ok {
		return started.Add(min(w.Interval, firstDelay))
	}
	w.Metrics.SetLastBackup(newest)
	return newest.Add(w.Interval)
}

// RunOnce takes a backup, unless another server holds the lock or took one
// less than Interval ago, then removes the backups older than Retention,
// and the erasure records that no remaining backup needs.
// It returns the new backup's manifest (nil when it took none) and logs and
// counts a failure.
func (w *Worker) RunOnce(ctx context.Context) (*Manifest, error) {
	log := w.Service.Log.With("component", "backup")
	release, ok, err := w.Service.Store.TryLock(ctx, lockName)
	if err != nil {
		return nil, w.failed(ctx, "backup lock failed", err)
	}
	if !ok {
		return nil, nil
	}
	defer release()
	// Another server may have taken one while this one waited.
	if newest, ok, err := w.Service.Newest(ctx); err == nil && ok && w.Service.now().Before(newest.Add(w.Interval)) {
		return nil, nil
	}
	start := time.Now()
	m, err := w.Service.Create(ctx, CreateOptions{Actor: ActorSystem})
	if err != nil {
		w.Metrics.BackupTaken(false)
		return nil, w.failed(ctx, "backup failed", err)
	}
	w.Metrics.BackupTaken(true)
	w.Metrics.SetLastBackup(m.TakenAt)
	log.Info("backup taken", "key", m.Key, "rows", m.Rows, "bytes", m.Bytes,
		"seconds", time.Since(start).Seconds())
	removed, err := w.Service.Prune(ctx, w.Service.now().Add(-w.Retention), ActorSystem)
	if err != nil {
		return m, w.failed(ctx, "removing old backups failed", err)
	}
	if len(removed) > 0 {
		log.Info("old backups removed", "count", len(removed), "retention", w.Retention.String())
	}
	n, err := w.Service.PruneErasures(ctx, w.Service.now().Add(-w.Retention))
	if err != nil {
		return m, w.failed(ctx, "removing old erasure records failed", err)
	}
	if n > 0 {
		log.Info("old erasure records removed", "count", n, "retention", w.Retention.String())
	}
	return m, nil
}

// failed logs and counts err, unless the server is stopping.
func (w *Worker) failed(ctx context.Context, msg string, err error) error {
	if ctx.Err() == nil {
		w.Service.Log.Error(msg, "component", "backup", "err", err)
		w.Metrics.Error("backup")
	}
	return err
}
