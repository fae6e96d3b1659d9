package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func mustExport(t *testing.T, s *store.Store, created time.Time, by string) *leadcap.Export {
	t.Helper()
	id, err := store.NewExportID()
	if err != nil {
		t.Fatal(err)
	}
	e := &leadcap.Export{ID: id, Format: leadcap.FormatCSV, Columns: leadcap.ColumnsHubSpot, BOM: true,
		Filter: leadcap.ExportFilter{ConferenceID: "c1", Since: created.Add(-time.Hour), Until: created, IncludeSpam: true},
		Total:  10, ObjectKey: "exports/" + created.Format("2006/01/02") + "/" + id + ".csv", CreatedBy: by,
		CreatedAt: created, ExpiresAt: created.Add(365 * 24 * time.Hour)}
	if err := s.CreateExport(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		now := time.Now().UTC().Truncate(time.Microsecond)
		a := mustExport(t, s, now.Add(-2*time.Hour), "user-1")
		b := mustExport(t, s, now.Add(-time.Hour), "")

		got, err := s.Export(ctx, a.ID)
		if err != nil || got.Status != leadcap.ExportRunning || got.Filter != a.Filter || got.CreatedBy != "user-1" ||
			!got.CreatedAt.Equal(a.CreatedAt) || got.Total != 10 || !got.BOM || got.Columns != leadcap.ColumnsHubSpot ||
			got.ObjectKey != a.ObjectKey || !got.FinishedAt.IsZero() {
			t.Fatalf("Export = %+v, %v; want %+v", got, err, a)
		}
		if err := s.ExportProgress(ctx, a.ID, 4, 10); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Export(ctx, a.ID); got.Rows != 4 {
			t.Fatalf("progress: rows %d", got.Rows)
		}
		a.Rows, a.Bytes, a.SHA256 = 10, 1234, "ab12"
		if err := s.FinishExport(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Export(ctx, a.ID)
		if got.Status != leadcap.ExportDone || got.Rows != 10 || got.Bytes != 1234 || got.SHA256 != "ab12" || got.FinishedAt.IsZero() {
			t.Fatalf("finished: %+v", got)
		}
		// A finished export is not finished again, nor failed.
		if err := s.FinishExport(ctx, a); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("finish twice: %v", err)
		}
		if err := s.FailExport(ctx, a.ID, "late"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Export(ctx, a.ID); got.Status != leadcap.ExportDone || got.Error != "" {
			t.Fatalf("failing a done export changed it: %+v", got)
		}

		list, err := s.Exports(ctx, "", 0)
		if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
			t.Fatalf("Exports = %v, %v; want newest first", list, err)
		}
		if list, _ := s.Exports(ctx, b.ID, 10); len(list) != 1 || list[0].ID != a.ID {
			t.Fatalf("Exports after %s = %v", b.ID, list)
		}

		// b's server stopped: its heartbeat is old.
		stale, err := s.FailStaleExports(ctx, time.Now().Add(time.Minute))
		if err != nil || len(stale) != 1 || stale[0] != b.ID {
			t.Fatalf("FailStaleExports = %v, %v", stale, err)
		}
		if got, _ := s.Export(ctx, b.ID); got.Status != leadcap.ExportFailed || got.Error == "" {
			t.Fatalf("stale export: %+v", got)
		}

		expired, err := s.ExpiredExports(ctx, a.ExpiresAt, 10)
		if err != nil || len(expired) != 1 || expired[0].ID != a.ID {
			t.Fatalf("ExpiredExports = %v, %v", expired, err)
		}
		if err := s.DeleteExport(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Export(ctx, a.ID); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("deleted export: %v", err)
		}
		if err := s.DeleteExport(ctx, a.ID); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("delete twice: %v", err)
		}
	})
}
