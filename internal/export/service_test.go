package export_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func (e *env) service(t *testing.T, ctx context.Context, objects blob.Store, now func() time.Time, syncRows int64) *export.Service {
	s := export.NewService(ctx, export.Config{Store: e.st, Blob: objects, Keys: e.keys, Auditor: e.auditor, Log: discard(),
		TempDir: t.TempDir(), Retention: 30 * 24 * time.Hour, SyncRows: syncRows, Now: now})
	t.Cleanup(s.Wait)
	return s
}

func TestExportLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now())
		e.capture(t, nastyLeads(c)...)
		objects, err := blob.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer objects.Close()
		offset := time.Duration(0)
		now := func() time.Time { return time.Now().Add(offset) }
		s := e.service(t, ctx, objects, now, 100)
		old, err := s.Create(ctx, export.Request{Format: leadcap.FormatJSON}, export.Meta{Actor: export.Actor{ID: "u1", Name: "admin@example.com"}})
		if err != nil || old.Status != leadcap.ExportDone || old.CreatedBy != "u1" || old.Rows != 4 {
			t.Fatalf("Create = %+v, %v", old, err)
		}
		// The file opens only as its own export.
		r, _, err := objects.Get(ctx, old.ObjectKey)
		if err != nil {
			t.Fatal(err)
		}
		sealed, _ := io.ReadAll(r)
		r.Close()
		if bytes.Contains(sealed, []byte("ana@example.com")) {
			t.Fatal("lead text in clear in the object store")
		}

		offset = 29 * 24 * time.Hour
		young, err := s.Create(ctx, export.Request{Format: leadcap.FormatCSV}, export.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		// A running export whose server died is failed.
		stuck, _ := s.Create(ctx, export.Request{Format: leadcap.FormatCSV}, export.Meta{})
		if err := e.st.ExecForTest(ctx, `UPDATE exports SET status = 'running', heartbeat_at = 0 WHERE id = $1`, stuck.ID); err != nil {
			t.Fatal(err)
		}

		// 31 days on, the first is past its 30; the second is not.
		offset = 31 * 24 * time.Hour
		j := &export.Janitor{Store: e.st, Blob: objects, Auditor: e.auditor, Log: discard(), Now: now}
		swept, err := j.RunOnce(ctx)
		if err != nil || swept != (export.Swept{Expired: 1, Stale: 1}) {
			t.Fatalf("RunOnce = %+v, %v", swept, err)
		}
		if _, err := e.st.Export(ctx, old.ID); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("expired export's record: %v", err)
		}
		if _, err := objects.Versions(ctx, old.ObjectKey); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("expired export's object: %v", err)
		}
		if got, err := e.st.Export(ctx, young.ID); err != nil || got.Status != leadcap.ExportDone {
			t.Fatalf("young export: %+v, %v", got, err)
		}
		if got, _ := e.st.Export(ctx, stuck.ID); got.Status != leadcap.ExportFailed {
			t.Fatalf("stuck export: %+v", got)
		}
		evs := e.auditor.list()
		last := evs[len(evs)-1]
		if last.Action != export.AuditExpire || last.ExportID != old.ID || last.Actor.Name != export.ActorSystem {
			t.Fatalf("audit: %+v", last)
		}
		if swept, _ := j.RunOnce(ctx); swept != (export.Swept{}) {
			t.Fatalf("second pass: %+v", swept)
		}
	})
}

func TestExportJobStops(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now())
		e.capture(t, nastyLeads(c)...)
		objects, err := blob.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer objects.Close()
		// The server is stopping: a job queued now fails, and says so.
		jobs, stop := context.WithCancel(ctx)
		stop()
		s := e.service(t, jobs, objects, time.Now, 1)
		job, err := s.Create(ctx, export.Request{Format: leadcap.FormatCSV}, export.Meta{})
		if err != nil || job.Status != leadcap.ExportRunning {
			t.Fatalf("Create = %+v, %v", job, err)
		}
		s.Wait()
		got, err := e.st.Export(ctx, job.ID)
		if err != nil || got.Status != leadcap.ExportFailed || got.Error == "" {
			t.Fatalf("interrupted job: %+v, %v", got, err)
		}
		if _, err := objects.Versions(ctx, job.ObjectKey); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("an interrupted job left an object: %v", err)
		}
	})
}
