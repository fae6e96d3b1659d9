package export

import (
	"context"
	"log/slog"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/store"
)

// Janitor keeps stored exports tidy: it removes each export, file and
// record, once it reaches its ExpiresAt (the retention rule, 365 days by
// default), and fails exports whose server stopped while running them.
// Several servers may run one each.
type Janitor struct {
	Store   *store.Store
	Blob    blob.Store
	Auditor Auditor
	Log     *slog.Logger
	// Interval is the time between passes. Default an hour.
	Interval time.Duration
	// StaleAfter is how long a running export may go without a heartbeat
	// before it is failed. Default two minutes.
	StaleAfter time.Duration
	Now        func() time.Time
}

// Swept counts what one pass did.
type Swept struct {
	Expired int `json:"expired"` // exports removed
	Stale   int `json:"stale"`   // running exports failed
}

// Run sweeps now and then every Interval until ctx ends. It returns nil on
// a clean stop.
func (j *Janitor) Run(ctx context.Context) error {
	interval := j.Interval
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := j.RunOnce(ctx); err != nil && ctx.Err() == nil {
			j.Log.Error("export sweep failed", "component", "export", "err", err)
		} else if n.Expired+n.Stale > 0 {
			j.Log.Info("export sweep", "component", "export", "expired", n.Expired, "stale", n.Stale)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce makes one pass: it fails stale running exports and removes every
// expired one.
func (j *Janitor) RunOnce(ctx context.Context) (Swept, error) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	staleAfter := j.StaleAfter
	if staleAfter <= 0 {
		staleAfter = 2 * time.Minute
	}
	var n Swept
	stale, err := j.Store.FailStaleExports(ctx, now().Add(-staleAfter))
	n.Stale = len(stale)
	if err != nil {
		return n, err
	}
	for {
		expired, err := j.Store.ExpiredExports(ctx, now(), 100)
		if err != nil || len(expired) == 0 {
			return n, err
		}
		for _, e := range expired {
			if err := remove(ctx, j.Store, j.Blob, e); err != nil {
				return n, err
			}
			n.Expired++
			ev := AuditEvent{Action: AuditExpire, ExportID: e.ID, Actor: Actor{Name: ActorSystem}, Result: AuditSuccess,
				Detail: map[string]string{"format": e.Format, "created_at": e.CreatedAt.Format(time.RFC3339)}}
			if err := j.Auditor.AuditExport(ctx, ev); err != nil {
				return n, err
			}
		}
	}
}
