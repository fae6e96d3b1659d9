package outbox_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/blob/blobtest"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/outbox"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func TestOutboxCopiesAndSurvivesAnOutage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, keys, c := openStore(t, dsn, nil)
		root := t.TempDir()
		objects, err := blob.OpenDir(root)
		if err != nil {
			t.Fatal(err)
		}
		defer objects.Close()
		now := time.Now()
		w := &outbox.Worker{Store: st, Blob: objects, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: func() time.Time { return now }}

		capture := func(sub, email string) leadcap.CaptureResult {
			l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: sub, Email: email, FirstName: "Ana", Source: "form",
				Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: now}}
			r, err := st.CaptureLead(ctx, l, email)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r1 := capture("s1", "a@example.com")
		capture("s2", "a@example.com") // a merge: a second version of the same object

		// The object store is down: its objects directory is gone and a
		// file stands in its place.
		objDir := filepath.Join(root, "objects")
		if err := os.Rename(objDir, objDir+".away"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(objDir, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("copied %d items with the store down", n)
		}
		if pending, _, _ := st.OutboxStats(ctx); pending != 2 {
			t.Fatalf("pending after failed copy = %d, want 2 (nothing lost)", pending)
		}
		// Back up; the retry is not due yet, then it is.
		os.Remove(objDir)
		os.Rename(objDir+".away", objDir)
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatalf("retried %d items before their backoff", n)
		}
		// The store's clock decides what is due: wait out the first backoff.
		time.Sleep(outbox.Backoff(0) + 100*time.Millisecond)
		if n, err := w.RunOnce(ctx); n != 2 || err != nil {
			t.Fatalf("copied %d after recovery, %v; want 2", n, err)
		}
		if pending, _, _ := st.OutboxStats(ctx); pending != 0 {
			t.Fatalf("pending after recovery = %d", pending)
		}
		key := store.RawObjectKey(c.ID, r1.LeadID)
		versions, err := objects.Versions(ctx, key)
		if err != nil || len(versions) != 2 {
			t.Fatalf("versions of %s: %d, %v; want 2", key, len(versions), err)
		}
		rc, _, err := objects.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var raw outbox.RawObject
		if err := json.NewDecoder(rc).Decode(&raw); err != nil {
			t.Fatal(err)
		}
		plain, err := keys.Open(raw.Sealed, store.SubmissionAD(raw.ConferenceID, raw.SubmissionID))
		if err != nil {
			t.Fatalf("raw object does not open: %v", err)
		}
		var sub leadcap.Lead
		if err := json.Unmarshal(plain, &sub); err != nil || sub.Email != "a@example.com" || raw.LeadID != r1.LeadID {
			t.Fatalf("raw submission: %+v %v", sub, err)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempts int
		want     time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {4, 16 * time.Second}, {9, 5 * time.Minute}, {60, 5 * time.Minute}} {
		if got := outbox.Backoff(tt.attempts); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

// TestOutboxDefersDuringABurst checks that the worker leaves the newest
// raw copies for later while leads arrive faster than store.BurstRate, and
// copies them once the burst is over.
func TestOutboxDefersDuringABurst(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	st, _, c := openStore(t, storetest.SQLite(t), now)
	objects, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer objects.Close()
	w := &outbox.Worker{Store: st, Blob: objects, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Batch: 1000, Now: now}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= store.BurstRate+1; i = next.Add(1) {
				email := fmt.Sprintf("b%d@example.com", i)
				l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprint("b", i), Email: email, Source: "form",
					Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: now()}}
				if _, err := st.CaptureLead(ctx, l, email); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n, err := w.RunOnce(ctx); n != 0 || err != nil {
		t.Fatalf("copied %d during the burst, %v", n, err)
	}
	clock.Add(int64(2 * time.Second))
	if n, err := w.RunOnce(ctx); n != store.BurstRate+1 || err != nil {
		t.Fatalf("copied %d after the burst, %v; want %d", n, err, store.BurstRate+1)
	}
}

// openStore opens a migrated store on dsn with the clock now (nil for the
// real one) and an open conference.
func openStore(t *testing.T, dsn string, now func() time.Time) (*store.Store, *crypto.KeyRing, *leadcap.Conference) {
	t.Helper()
	ctx := context.Background()
	st, keys := storetest.Open(t, dsn, store.Options{Merge: intake.MergeLead, Now: now})
	c := &leadcap.Conference{Slug: "expo", Name: "Expo", Status: leadcap.StatusOpen, Consent: leadcap.ConsentText{Text: "ok", Hash: "h"}}
	if err := st.CreateConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	return st, keys, c
}

// TestOutboxRemovesTheCopyOfAnErasedLead erases a lead while the worker
// holds its raw copy in flight, claimed but not yet written (the copy lands
// after the erasure's purge) or written but not yet completed: either way
// no version of the raw key is left once the worker is done.
func TestOutboxRemovesTheCopyOfAnErasedLead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st, _, c := openStore(t, dsn, nil)
		objects, err := blob.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer objects.Close()
		for _, tt := range []struct {
			name    string
			after   bool // held after the Put stored its version
			removed bool // the worker, not the erasure, removes the version
		}{{"lands after the purge", false, true}, {"written before the erasure", true, false}} {
			t.Run(tt.name, func(t *testing.T) {
				email := strings.ReplaceAll(tt.name, " ", "-") + "@example.com"
				l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: tt.name, Email: email, FirstName: "Ana", Source: "form",
					Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: time.Now()}}
				r, err := st.CaptureLead(ctx, l, email)
				if err != nil {
					t.Fatal(err)
				}
				key := store.RawObjectKey(c.ID, r.LeadID)
				gate := &blobtest.Gate{Store: objects, After: tt.after, Held: make(chan string), Release: make(chan struct{})}
				var logs bytes.Buffer
				w := &outbox.Worker{Store: st, Blob: gate, Log: slog.New(slog.NewTextHandler(&logs, nil))}
				type result struct {
					n   int
					err error
				}
				done := make(chan result, 1)
				go func() {
					n, err := w.RunOnce(ctx)
					done <- result{n, err}
				}()
				if held := <-gate.Held; held != key {
					t.Fatalf("worker holds %s, want %s", held, key)
				}
				e, err := st.EraseLead(ctx, r.LeadID, objects)
				if err != nil || e.RawLeaseUntil.IsZero() {
					t.Fatalf("EraseLead = %+v, %v; want a lease: the copy was claimed", e, err)
				}
				close(gate.Release)
				if res := <-done; res.n != 1 || res.err != nil {
					t.Fatalf("RunOnce = %d, %v; want 1 copy", res.n, res.err)
				}
				if vs, err := objects.Versions(ctx, key); !errors.Is(err, blob.ErrNotFound) {
					t.Fatalf("raw copy of the erased lead outlives the erasure: %+v, %v", vs, err)
				}
				if got := strings.Contains(logs.String(), "raw copy of a deleted lead removed"); got != tt.removed {
					t.Fatalf("removal logged: %v, want %v; log:\n%s", got, tt.removed, logs.String())
				}
				if strings.Contains(logs.String(), email) {
					t.Fatalf("the log names the person:\n%s", logs.String())
				}
			})
		}
	})
}

// TestOutboxKeepsAnArchivedLeadsCopies checks that a stale copy, written
// after its worker's lease ran out and another worker had copied the same
// submission, removes only its own version when the lead was archived
// meanwhile: an archive keeps its leads' raw copies.
func TestOutboxKeepsAnArchivedLeadsCopies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var clock atomic.Int64
		clock.Store(time.Now().UnixNano())
		now := func() time.Time { return time.Unix(0, clock.Load()) }
		st, _, c := openStore(t, dsn, now)
		objects, err := blob.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer objects.Close()
		created := now()
		l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: "s1", Email: "a@example.com", FirstName: "Ana", Source: "form",
			Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: created}}
		r, err := st.CaptureLead(ctx, l, l.Email)
		if err != nil {
			t.Fatal(err)
		}
		key := store.RawObjectKey(c.ID, r.LeadID)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))

		gate := &blobtest.Gate{Store: objects, Held: make(chan string), Release: make(chan struct{})}
		stale := &outbox.Worker{Store: st, Blob: gate, Log: log, Lease: time.Minute, Now: now}
		done := make(chan error, 1)
		go func() {
			_, err := stale.RunOnce(ctx)
			done <- err
		}()
		<-gate.Held
		clock.Add(int64(2 * time.Minute)) // the stale worker's lease is over
		fresh := &outbox.Worker{Store: st, Blob: objects, Log: log, Now: now}
		if n, err := fresh.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("second worker copied %d, %v", n, err)
		}
		kept, err := objects.Versions(ctx, key)
		if err != nil || len(kept) != 1 {
			t.Fatalf("versions after the second worker: %+v, %v", kept, err)
		}
		clock.Add(int64(time.Second))
		deleted, _, err := st.DeleteArchivedLeads(ctx, store.LeadFilter{ConferenceID: c.ID, Until: now()}, now(), nil)
		if err != nil || deleted != 1 {
			t.Fatalf("archive deleted %d, %v", deleted, err)
		}
		close(gate.Release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		vs, err := objects.Versions(ctx, key)
		if err != nil || len(vs) != 1 || vs[0].Version != kept[0].Version {
			t.Fatalf("versions after the stale copy: %+v, %v; want only %s, the archive's", vs, err, kept[0].Version)
		}
	})
}

// TestOutboxWaitsForAConcurrentDeletion checks the PostgreSQL half of the
// ordering argument in RunOnce: a lead's deletion that holds its submission
// row, uncommitted, when the worker completes the copy makes the worker
// wait, and once it commits the worker sees the row gone and removes the
// version it wrote. (On SQLite the single writer runs the two one after
// the other; TestOutboxRemovesTheCopyOfAnErasedLead covers both orders.)
func TestOutboxWaitsForAConcurrentDeletion(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.Postgres(t)
	st, _, c := openStore(t, dsn, nil)
	objects, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer objects.Close()
	l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: "s1", Email: "a@example.com", FirstName: "Ana", Source: "form",
		Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: time.Now()}}
	r, err := st.CaptureLead(ctx, l, l.Email)
	if err != nil {
		t.Fatal(err)
	}
	key := store.RawObjectKey(c.ID, r.LeadID)
	gate := &blobtest.Gate{Store: objects, After: true, Held: make(chan string), Release: make(chan struct{})}
	var logs bytes.Buffer
	w := &outbox.Worker{Store: st, Blob: gate, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	done := make(chan error, 1)
	go func() {
		_, err := w.RunOnce(ctx)
		done <- err
	}()
	<-gate.Held // the version is stored

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var holder int
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM submissions WHERE lead_id = $1`, `DELETE FROM leads WHERE id = $1`} {
		if _, err := tx.ExecContext(ctx, q, r.LeadID); err != nil {
			t.Fatal(err)
		}
	}
	close(gate.Release)
	// Wait until the worker's UPDATE waits for the deletion's row lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`,
			holder).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker never waited for the deletion's row lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if vs, err := objects.Versions(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("raw copy of the deleted lead left: %+v, %v", vs, err)
	}
	if !strings.Contains(logs.String(), "raw copy of a deleted lead removed") {
		t.Fatalf("removal not logged:\n%s", logs.String())
	}
}
