package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestEraseLead erases one person's lead among others: the lead and
// everything that hangs on it go, every version of its raw copy is
// purged, and nothing else changes. On SQLite the bytes of its rows
// (sealed as they are) leave the database file and its WAL at once, and
// every other copy of them once Vacuum rebuilds the file.
func TestEraseLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		objects, err := blob.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer objects.Close()
		a, b := MustConference(t, s, "erase-a"), MustConference(t, s, "erase-b")
		capture := func(c *leadcap.Conference, sub, email string) string {
			t.Helper()
			l := newLead(c, sub, email)
			r, err := s.CaptureLead(ctx, l, strings.ToLower(email))
			if err != nil {
				t.Fatal(err)
			}
			return r.LeadID
		}
		var others []string
		for i := range 300 {
			others = append(others, capture(a, fmt.Sprint("o", i), fmt.Sprintf("other%d@example.com", i)))
		}
		pa := capture(a, "p1", "Erase.Me@example.com")
		if again := capture(a, "p2", "erase.me@example.com"); again != pa {
			t.Fatalf("the second submission made lead %s, want it merged into %s", again, pa)
		}
		pb := capture(b, "p3", "erase.me@example.com")
		for i := range 300 {
			others = append(others, capture(b, fmt.Sprint("q", i), fmt.Sprintf("other%d@example.com", i)))
		}
		tags := []string{"vip"}
		if err := s.UpdateLead(ctx, pa, store.LeadChange{Tags: &tags, Note: &leadcap.LeadNote{Author: "staff", Text: "called twice"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.IndexLeads(ctx, store.IndexOptions{}); err != nil {
			t.Fatal(err)
		}
		// Every raw copy is written but pb's, which a worker holds.
		claimed := time.Now().Truncate(time.Microsecond) // as stored
		items, err := s.ClaimOutbox(ctx, 2000, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		var done []store.OutboxItem
		for _, it := range items {
			if it.LeadID == pb {
				continue
			}
			if _, err := objects.Put(ctx, it.ObjectKey, bytes.NewReader(it.Sealed)); err != nil {
				t.Fatal(err)
			}
			done = append(done, it)
		}
		if _, err := s.CompleteOutbox(ctx, done...); err != nil {
			t.Fatal(err)
		}
		rawA := store.RawObjectKey(a.ID, pa)
		if err := objects.Delete(ctx, rawA); err != nil { // a delete marker on top of its two versions
			t.Fatal(err)
		}

		found, err := s.LeadsByEmail(ctx, "erase.me@example.com", "")
		if err != nil || len(found) != 2 || found[0].ID != pa || found[1].ID != pb || found[0].Email != "Erase.Me@example.com" {
			t.Fatalf("LeadsByEmail: %v %v", found, err)
		}
		if found, _ := s.LeadsByEmail(ctx, "erase.me@example.com", b.ID); len(found) != 1 || found[0].ID != pb {
			t.Fatalf("LeadsByEmail at b: %v", found)
		}
		if found, _ := s.LeadsByEmail(ctx, "nobody@example.com", ""); len(found) != 0 {
			t.Fatalf("LeadsByEmail of nobody: %v", found)
		}

		// What of pa's is in the database, sealed, before it goes.
		var traces [][]byte
		for _, q := range []string{`SELECT email_index FROM leads WHERE id = $1`, `SELECT data FROM leads WHERE id = $1`,
			`SELECT data FROM submissions WHERE lead_id = $1`, `SELECT data FROM lead_notes WHERE lead_id = $1`} {
			got, err := s.BytesForTest(ctx, q, pa)
			if err != nil || len(got) == 0 {
				t.Fatalf("%s: %d rows, %v", q, len(got), err)
			}
			traces = append(traces, got...)
		}

		e, err := s.EraseLead(ctx, pa, objects)
		if err != nil || e.Lead.ID != pa || e.RawKey != rawA || e.RawVersions != 3 || !e.RawLeaseUntil.IsZero() {
			t.Fatalf("EraseLead(pa) = %+v, %v", e, err)
		}
		if _, err := s.Lead(ctx, pa); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("erased lead still there: %v", err)
		}
		for _, table := range []string{"submissions", "lead_notes", "lead_tags", "lead_terms"} {
			if n, err := s.CountForTest(ctx, `SELECT count(*) FROM `+table+` WHERE lead_id = $1`, pa); err != nil || n != 0 {
				t.Errorf("%s still holds %d rows of the erased lead (%v)", table, n, err)
			}
		}
		if vs, err := objects.Versions(ctx, rawA); err == nil {
			t.Fatalf("raw copy still has versions: %+v", vs)
		}
		if _, err := s.EraseLead(ctx, pa, objects); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("erasing again: %v", err)
		}
		// The same person elsewhere and everyone else are untouched.
		for _, id := range append([]string{pb}, others...) {
			if _, err := s.Lead(ctx, id); err != nil {
				t.Fatalf("lead %s: %v", id, err)
			}
		}
		if n, _ := s.CountForTest(ctx, `SELECT count(*) FROM submissions`); n != int64(len(others)+1) {
			t.Fatalf("%d submissions left, want %d", n, len(others)+1)
		}
		if _, err := objects.Stat(ctx, store.RawObjectKey(a.ID, others[0])); err != nil {
			t.Fatalf("another lead's raw copy: %v", err)
		}

		// pb's raw copy was claimed and not written: it may still land.
		e, err = s.EraseLead(ctx, pb, objects)
		if err != nil || e.RawVersions != 0 || e.RawLeaseUntil.Before(claimed.Add(time.Minute)) {
			t.Fatalf("EraseLead(pb) = %+v, %v; want the lease of the claim, a minute after it", e, err)
		}

		if s.Dialect() != store.SQLite {
			if err := s.Vacuum(ctx); err == nil || !strings.Contains(err.Error(), "VACUUM FULL") {
				t.Fatalf("Vacuum on PostgreSQL: %v", err)
			}
			return
		}
		// The rows went with secure_delete on: their bytes are overwritten.
		// Copies of the email's blind index that SQLite left when it moved
		// index entries between pages before may remain until Vacuum.
		if err := s.TruncateWAL(ctx); err != nil {
			t.Fatal(err)
		}
		findTraces(t, dsn, traces[1:])
		if err := s.Vacuum(ctx); err != nil {
			t.Fatal(err)
		}
		findTraces(t, dsn, traces)
		if _, err := s.Lead(ctx, others[0]); err != nil {
			t.Fatalf("after Vacuum: %v", err)
		}
	})
}

// TestDeleteConferenceOverwritesItsLeads deletes a conference with its
// leads and checks that the sealed data of its leads and their history is
// gone from the SQLite files, not left in free space.
func TestDeleteConferenceOverwritesItsLeads(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.SQLite(t)
	s := MustOpen(t, dsn)
	gone, kept := MustConference(t, s, "gone"), MustConference(t, s, "kept")
	var traces [][]byte
	for i := range 200 {
		for _, c := range []*leadcap.Conference{gone, kept} {
			email := fmt.Sprintf("p%d@example.com", i)
			r, err := s.CaptureLead(ctx, newLead(c, fmt.Sprint("s", i), email), email)
			if err != nil {
				t.Fatal(err)
			}
			if c != gone || i%20 != 0 {
				continue
			}
			for _, q := range []string{`SELECT data FROM leads WHERE id = $1`, `SELECT data FROM submissions WHERE lead_id = $1`} {
				got, err := s.BytesForTest(ctx, q, r.LeadID)
				if err != nil || len(got) != 1 {
					t.Fatalf("%s: %d rows, %v", q, len(got), err)
				}
				traces = append(traces, got...)
			}
		}
	}
	if n, err := s.DeleteConference(ctx, gone.ID, true); err != nil || n != 200 {
		t.Fatalf("DeleteConference = %d, %v", n, err)
	}
	if err := s.TruncateWAL(ctx); err != nil {
		t.Fatal(err)
	}
	findTraces(t, dsn, traces)
	if n, err := s.CountForTest(ctx, `SELECT count(*) FROM leads WHERE conference_id = $1`, kept.ID); err != nil || n != 200 {
		t.Fatalf("the other conference kept %d leads (%v), want 200", n, err)
	}
}

// findTraces fails the test if a file of the SQLite database at dsn holds
// one of traces.
func findTraces(t *testing.T, dsn string, traces [][]byte) {
	t.Helper()
	files, _ := filepath.Glob(dsn + "*")
	if len(files) < 2 {
		t.Fatalf("database files: %v", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, tr := range traces {
			if bytes.Contains(data, tr) {
				t.Errorf("%s still holds a trace of the erased lead (%d bytes, %d of %d)", filepath.Base(f), len(tr), i+1, len(traces))
			}
		}
	}
}

// TestExportsWithLead lists the stored exports that may hold a lead.
func TestExportsWithLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := MustOpen(t, dsn)
		a, b := MustConference(t, s, "ex-a"), MustConference(t, s, "ex-b")
		r, err := s.CaptureLead(ctx, newLead(a, "s1", "p@example.com"), "p@example.com")
		if err != nil {
			t.Fatal(err)
		}
		l, _ := s.Lead(ctx, r.LeadID)
		after := l.CreatedAt.Add(time.Minute)
		mk := func(created time.Time, f leadcap.ExportFilter, failed bool) string {
			t.Helper()
			id, _ := store.NewExportID()
			e := &leadcap.Export{ID: id, Format: leadcap.FormatCSV, Columns: leadcap.ColumnsLeadcap, Filter: f,
				ObjectKey: "exports/x/" + id + ".csv", CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
			if err := s.CreateExport(ctx, e); err != nil {
				t.Fatal(err)
			}
			if failed {
				if err := s.FailExport(ctx, id, "broken"); err != nil {
					t.Fatal(err)
				}
			}
			return id
		}
		ofA := mk(after, leadcap.ExportFilter{ConferenceID: a.ID, Until: after}, false)
		ofAll := mk(after, leadcap.ExportFilter{Since: l.CreatedAt, Until: after}, false)
		mk(after, leadcap.ExportFilter{ConferenceID: b.ID, Until: after}, false)            // another conference
		mk(after, leadcap.ExportFilter{ConferenceID: a.ID, Until: l.CreatedAt}, false)      // ends before the lead
		mk(after, leadcap.ExportFilter{Since: after, Until: after.Add(time.Minute)}, false) // starts after it
		mk(l.CreatedAt.Add(-time.Hour), leadcap.ExportFilter{ConferenceID: a.ID}, false)    // made before it
		mk(after, leadcap.ExportFilter{ConferenceID: a.ID, Until: after}, true)             // failed: no file
		got, err := s.ExportsWithLead(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]string{ofA, ofAll}) {
			t.Fatalf("ExportsWithLead = %v, want %v", ids, []string{ofA, ofAll})
		}
	})
}

// TestTruncateWALBesideCheckpoints empties the WAL while other connections
// keep checkpointing it, as the server's checkpointer and writer do.
func TestTruncateWALBesideCheckpoints(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.SQLite(t)
	s := MustOpen(t, dsn)
	c := MustConference(t, s, "wal")
	for i := range 50 {
		l := newLead(c, fmt.Sprint("w", i), fmt.Sprintf("w%d@example.com", i))
		if _, err := s.CaptureLead(ctx, l, l.Email); err != nil {
			t.Fatal(err)
		}
	}
	other, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			other.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}()
	for range 20 {
		if err := s.TruncateWAL(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
}
