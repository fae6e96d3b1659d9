package erasure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/erasure"
)

func newLog(t *testing.T) *erasure.Log {
	t.Helper()
	objects, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	keys, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &erasure.Log{Blob: objects, Keys: keys}
}

// TestSince returns the records from a time on, oldest first, and refuses
// one moved to another key: a sealed record opens only under its own.
func TestSince(t *testing.T) {
	ctx := context.Background()
	l := newLog(t)
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		r := erasure.Record{LeadID: id, ConferenceID: "conf", ErasedAt: base.Add(time.Duration(i) * time.Hour)}
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Since(ctx, base.Add(time.Hour))
	if err != nil || len(got) != 2 || got[0].LeadID != "b" || got[1].LeadID != "c" || got[1].ConferenceID != "conf" ||
		!got[1].ErasedAt.Equal(base.Add(2*time.Hour)) {
		t.Fatalf("Since: %+v, %v", got, err)
	}
	if k := erasure.Key(got[0]); k != "erasures/2026/11/26/20261126T110000.000000Z-b.json" {
		t.Fatalf("Key: %s", k)
	}

	// b's sealed bytes stored as d's record.
	rc, _, err := l.Blob.Get(ctx, erasure.Key(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	moved := erasure.Key(erasure.Record{LeadID: "d", ErasedAt: base.Add(3 * time.Hour)})
	if _, err := l.Blob.Put(ctx, moved, rc); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Since(ctx, base); err == nil || !strings.Contains(err.Error(), moved+" does not open") {
		t.Fatalf("Since with a moved record: %v", err)
	}
}
