package backup

import (
	"context"
	"testing"
	"time"

	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestPruneErasuresKeepsWhatTheOldestBackupNeeds: the records older than
// the retention go, but not those a backup kept past the retention (the
// newest always stays) would need at a restore.
func TestPruneErasuresKeepsWhatTheOldestBackupNeeds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		now := time.Now()
		f.svc.Now = func() time.Time { return now.Add(-50 * 24 * time.Hour) }
		m, err := f.svc.Create(ctx, CreateOptions{Actor: ActorSystem})
		if err != nil {
			t.Fatal(err)
		}
		log := &erasure.Log{Blob: f.objects, Keys: f.keys}
		for id, at := range map[string]time.Time{"old": m.TakenAt.Add(-10 * 24 * time.Hour),
			"within-slack": m.TakenAt.Add(-time.Minute), "after": m.TakenAt.Add(10 * 24 * time.Hour), "recent": now} {
			if err := log.Record(ctx, erasure.Record{LeadID: id, ConferenceID: "c", ErasedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		if removed, err := f.svc.Prune(ctx, now.Add(-35*24*time.Hour), ActorSystem); err != nil || len(removed) != 0 {
			t.Fatalf("Prune removed %v, %v; want the newest backup kept", removed, err)
		}
		n, err := f.svc.PruneErasures(ctx, now.Add(-35*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("PruneErasures removed %d, %v; want 1", n, err)
		}
		left, err := log.Since(ctx, time.Time{})
		var ids []string
		for _, r := range left {
			ids = append(ids, r.LeadID)
		}
		if err != nil || len(ids) != 3 || ids[0] != "within-slack" || ids[1] != "after" || ids[2] != "recent" {
			t.Fatalf("records left: %v, %v", ids, err)
		}
	})
}
