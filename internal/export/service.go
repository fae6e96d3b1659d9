package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
)

// Defaults of Config.
const (
	DefaultRetention = 365 * 24 * time.Hour
	DefaultLinkTTL   = 15 * time.Minute
	MaxLinkTTL       = 7 * 24 * time.Hour
	DefaultSyncRows  = 10_000
	// heartbeat is how often a running export records its progress.
	heartbeat = time.Second
	// maxBackground is how many exports run in the background at once;
	// more wait their turn.
	maxBackground = 2
)

// Config configures a Service.
type Config struct {
	Store   *store.Store
	Blob    blob.Store
	Keys    *crypto.KeyRing
	Auditor Auditor
	Log     *slog.Logger
	// TempDir is where XLSX workbooks spill while built (see Exporter).
	TempDir string
	// Retention is how long a stored export is kept. Default 365 days.
	Retention time.Duration
	// LinkTTL is how long a download link works when the caller does not
	// say. Default 15 minutes; at most MaxLinkTTL.
	LinkTTL time.Duration
	// SyncRows: an export of at most this many leads is written while its
	// request waits; a larger one runs in the background. Default 10,000.
	SyncRows int64
	// BaseURL is leadcap's public base URL, for absolute download links;
	// empty gives links as paths.
	BaseURL string
	Now     func() time.Time
}

// Service stores exports encrypted in the object store at
// exports/YYYY/MM/DD/<export-id>.<ext>, runs large ones in the background,
// and serves them by signed, expiring links. It is safe for concurrent use.
type Service struct {
	cfg   Config
	x     *Exporter
	ctx   context.Context // of background exports
	jobs  sync.WaitGroup
	slots chan struct{}
}

// NewService returns a Service whose background exports run until ctx
// ends; an export cut short that way is recorded as failed.
func NewService(ctx context.Context, c Config) *Service {
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.LinkTTL <= 0 {
		c.LinkTTL = DefaultLinkTTL
	}
	c.LinkTTL = min(c.LinkTTL, MaxLinkTTL)
	if c.SyncRows <= 0 {
		c.SyncRows = DefaultSyncRows
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{cfg: c, ctx: ctx, slots: make(chan struct{}, maxBackground),
		x: &Exporter{Store: c.Store, Auditor: c.Auditor, TempDir: c.TempDir}}
}

// Meta is who asks, and from where.
type Meta struct {
	Actor     Actor
	ClientIP  string
	UserAgent string
}

// ObjectKey is where an export is stored: exports/YYYY/MM/DD/<id>.<format>,
// dated by its creation in UTC.
func ObjectKey(id, format string, created time.Time) string {
	return "exports/" + created.UTC().Format("2006/01/02") + "/" + id + "." + format
}

// streamName names an export's sealed stream: its chunks open only as
// that export's.
func streamName(id string) string { return "export:" + id }

// Create starts an export of req. One of at most Config.SyncRows leads is
// written before Create returns, done or failed (and its error returned);
// a larger one is returned running, and runs in the background.
func (s *Service) Create(ctx context.Context, req Request, m Meta) (*leadcap.Export, error) {
	now := s.cfg.Now().UTC()
	plan, err := NewPlan(ctx, s.cfg.Store, req, now)
	if err != nil {
		return nil, err
	}
	total, err := s.cfg.Store.CountMatchingLeads(ctx, leadFilter(plan.Filter))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	id, err := store.NewExportID()
	if err != nil {
		return nil, err
	}
	e := &leadcap.Export{ID: id, Format: plan.Format, Columns: plan.Columns, BOM: plan.BOM, Filter: plan.Filter,
		Total: total, ObjectKey: ObjectKey(id, plan.Format, now), CreatedBy: m.Actor.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.Retention)}
	if err := s.cfg.Store.CreateExport(ctx, e); err != nil {
		return nil, err
	}
	if total <= s.cfg.SyncRows {
		if err := s.run(ctx, e, plan, m); err != nil {
			return nil, err
		}
		return s.cfg.Store.Export(ctx, id)
	}
	s.jobs.Go(func() {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-s.ctx.Done():
			s.fail(e.ID, errors.New("interrupted: the server stopped"))
			return
		}
		if err := s.run(s.ctx, e, plan, m); err != nil {
			s.cfg.Log.Warn("export failed", "component", "export", "export_id", e.ID, "err", err)
		}
	})
	return e, nil
}

// Wait waits for the background exports to end (after the context given
// to NewService ends, they end soon).
func (s *Service) Wait() { s.jobs.Wait() }

// run writes the export e, sealing it into the object store as it goes,
// and records the outcome.
func (s *Service) run(ctx context.Context, e *leadcap.Export, plan *Plan, m Meta) (err error) {
	var rows atomic.Int64
	stop := make(chan struct{})
	var beats sync.WaitGroup
	beats.Go(func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := s.cfg.Store.ExportProgress(ctx, e.ID, rows.Load(), e.Total); err != nil && ctx.Err() == nil {
					s.cfg.Log.Warn("export progress not recorded", "component", "export", "export_id", e.ID, "err", err)
				}
			}
		}
	})
	defer func() {
		close(stop)
		beats.Wait()
		if err != nil {
			s.fail(e.ID, err)
		}
	}()

	pr, pw := io.Pipe()
	put := make(chan error, 1)
	go func() {
		_, err := s.cfg.Blob.Put(ctx, e.ObjectKey, pr)
		pr.CloseWithError(err)
		put <- err
	}()
	res, err := s.seal(ctx, pw, e, plan, m, func(done, _ int64) { rows.Store(done) })
	if err != nil {
		pw.CloseWithError(err)
		<-put // the aborted Put stores nothing
		return err
	}
	pw.Close()
	if err := <-put; err != nil {
		return fmt.Errorf("export: store %s: %w", e.ObjectKey, err)
	}
	e.Rows, e.Bytes, e.SHA256 = res.Rows, res.Bytes, res.SHA256
	if err := s.cfg.Store.FinishExport(context.WithoutCancel(ctx), e); err != nil {
		// Deleted while it ran: the file goes too.
		if _, perr := s.cfg.Blob.Purge(context.WithoutCancel(ctx), e.ObjectKey); perr != nil {
			err = errors.Join(err, perr)
		}
		return err
	}
	return nil
}

// seal writes the export into w as a sealed stream.
func (s *Service) seal(ctx context.Context, w io.Writer, e *leadcap.Export, plan *Plan, m Meta, progress func(done, total int64)) (Result, error) {
	sw, err := crypto.NewSealWriter(w, s.cfg.Keys, streamName(e.ID))
	if err != nil {
		return Result{}, err
	}
	res, err := s.x.Write(ctx, sw, plan, WriteOptions{ExportID: e.ID, Actor: m.Actor, ClientIP: m.ClientIP,
		UserAgent: m.UserAgent, Progress: progress, Total: e.Total})
	if err != nil {
		return res, err
	}
	return res, sw.Close()
}

// fail records why an export failed, in words a user may see.
func (s *Service) fail(id string, cause error) {
	msg := leadcap.ErrorMessage(cause)
	if errors.Is(cause, context.Canceled) {
		msg = "interrupted: the request or the server stopped"
	} else if leadcap.ErrorCode(cause) == leadcap.EINTERNAL && msg == "internal error" {
		msg = "internal error; the server log has the cause"
	}
	if err := s.cfg.Store.FailExport(context.Background(), id, msg); err != nil {
		s.cfg.Log.Error("export failure not recorded", "component", "export", "export_id", id, "err", err)
	}
}

// Get returns one export.
func (s *Service) Get(ctx context.Context, id string) (*leadcap.Export, error) {
	return s.cfg.Store.Export(ctx, id)
}

// List returns up to limit exports, newest first, after the one with id
// before ("" for the newest).
func (s *Service) List(ctx context.Context, before string, limit int) ([]*leadcap.Export, error) {
	return s.cfg.Store.Exports(ctx, before, limit)
}

// Delete removes an export: every version of its file, then its record.
func (s *Service) Delete(ctx context.Context, id string, m Meta) error {
	e, err := s.cfg.Store.Export(ctx, id)
	if err != nil {
		return err
	}
	if err := remove(ctx, s.cfg.Store, s.cfg.Blob, e); err != nil {
		return err
	}
	return s.audit(ctx, AuditEvent{Action: AuditDelete, ExportID: id, Actor: m.Actor, ClientIP: m.ClientIP,
		UserAgent: m.UserAgent, Result: AuditSuccess, Detail: map[string]string{"format": e.Format}})
}

// remove purges an export's object and deletes its record.
func remove(ctx context.Context, st *store.Store, objects blob.Store, e *leadcap.Export) error {
	if _, err := objects.Purge(ctx, e.ObjectKey); err != nil {
		return fmt.Errorf("export: purge %s: %w", e.ObjectKey, err)
	}
	if err := st.DeleteExport(ctx, e.ID); err != nil && leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
		return err
	}
	return nil
}

func (s *Service) audit(ctx context.Context, ev AuditEvent) error {
	if err := s.cfg.Auditor.AuditExport(context.WithoutCancel(ctx), ev); err != nil {
		return fmt.Errorf("export: audit: %w", err)
	}
	return nil
}
