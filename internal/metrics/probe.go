package metrics

import (
	"context"
	"log/slog"
	"time"
)

// Probe refreshes the gauges that are read from outside the process: the
// outbox (often, since its lag is an alarm) and the sizes of the database
// and the object store (less often, since walking the objects costs more).
type Probe struct {
	Metrics *Metrics
	Log     *slog.Logger
	// Outbox returns how many raw copies wait and when the oldest was queued.
	Outbox func(ctx context.Context) (pending int64, oldest time.Time, err error)
	// DatabaseSize and ObjectStoreSize return sizes in bytes.
	DatabaseSize    func(ctx context.Context) (int64, error)
	ObjectStoreSize func(ctx context.Context) (int64, error)
	// Interval is how often the outbox and the database size are read;
	// default 5s. SizeInterval is how often the object store is measured;
	// default 1 minute.
	Interval     time.Duration
	SizeInterval time.Duration
}

// Run refreshes the gauges until ctx ends, starting at once.
func (p *Probe) Run(ctx context.Context) {
	interval, sizeInterval := p.Interval, p.SizeInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if sizeInterval <= 0 {
		sizeInterval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastSize time.Time
	for {
		sizes := time.Since(lastSize) >= sizeInterval
		p.refresh(ctx, sizes)
		if sizes {
			lastSize = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh reads each source once; objects also measures the object store.
func (p *Probe) refresh(ctx context.Context, objects bool) {
	fail := func(what string, err error) {
		if ctx.Err() != nil {
			return
		}
		p.Log.Warn("metrics probe failed", "component", "metrics", "probe", what, "err", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if p.Outbox != nil {
		if n, oldest, err := p.Outbox(rctx); err != nil {
			fail("outbox", err)
		} else {
			p.Metrics.SetOutbox(n, oldest)
		}
	}
	if p.DatabaseSize != nil {
		if n, err := p.DatabaseSize(rctx); err != nil {
			fail("database size", err)
		} else {
			p.Metrics.SetDatabaseSize(n)
		}
	}
	if objects && p.ObjectStoreSize != nil {
		octx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if n, err := p.ObjectStoreSize(octx); err != nil {
			fail("object store size", err)
		} else {
			p.Metrics.SetObjectStoreSize(n)
		}
	}
}
