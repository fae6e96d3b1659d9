package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
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
