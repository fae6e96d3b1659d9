package backup

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// fixture is a database with a few leads, an object directory and a
// backup Service over them.
type fixture struct {
	svc     *Service
	st      *store.Store
	keys    *crypto.KeyRing
	objects *blob.Dir
	dir     string // the object directory
	emails  []string
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, keys := storetest.Open(t, dsn, store.Options{})
	dir := t.TempDir()
	objects, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	c := &leadcap.Conference{Slug: "expo", Name: "Expo", Status: leadcap.StatusOpen,
		Consent: leadcap.ConsentText{Text: "We may contact you.", Hash: "h1"}}
	if err := st.CreateConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: &Service{Store: st, Blob: objects, Keys: keys, Log: slog.New(slog.DiscardHandler)},
		st: st, keys: keys, objects: objects, dir: dir}
	for i := range 3 {
		email := fmt.Sprintf("visitor-%d@plain.example", i)
		l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprint("sub-", i), FirstName: "Zenobia", LastName: "Quartermaine",
			Email: email, Phone: "+5016223456", Source: leadcap.SourceForm,
			Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h1", At: time.Now()}}
		if _, err := st.CaptureLead(ctx, l, email); err != nil {
			t.Fatal(err)
		}
		f.emails = append(f.emails, email)
	}
	return f
}

// file returns the path of the one stored version of key.
func (f *fixture) file(t *testing.T, key string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(f.dir, "objects", key, "*"))
	if err != nil || len(files) != 1 {
		t.Fatalf("versions of %s: %v %v", key, files, err)
	}
	return files[0]
}

func TestBackupPlaintextHoldsNoPersonalData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		m, err := f.svc.Create(ctx, CreateOptions{Actor: ActorCLI})
		if err != nil {
			t.Fatal(err)
		}
		if m.Rows == 0 || m.SchemaVersion == 0 || !strings.HasPrefix(m.Key, "backups/"+m.TakenAt.Format(time.DateOnly)+"/") {
			t.Fatalf("manifest %+v", m)
		}
		// Opened and decompressed, the rows still hold the personal fields
		// sealed only.
		r, _, err := f.objects.Get(ctx, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		gz, err := gzip.NewReader(crypto.NewOpenReader(r, f.keys, streamName(m.ID)))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(gz)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(plain, []byte(magic)) || !bytes.Contains(plain, []byte(`"leads"`)) {
			t.Fatalf("plaintext starts %q", plain[:min(len(plain), 80)])
		}
		for _, secret := range append(f.emails, "Zenobia", "Quartermaine", "6223456") {
			if bytes.Contains(plain, []byte(secret)) {
				t.Errorf("the backup's plaintext holds %q in clear", secret)
			}
		}
	})
}

func TestDamagedBackupsAreRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storetest.SQLite(t))
	take := func() *Manifest {
		m, err := f.svc.Create(ctx, CreateOptions{Actor: ActorCLI})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Verify(ctx, m, ReadOptions{}); err != nil {
			t.Fatalf("a fresh backup does not verify: %v", err)
		}
		return m
	}
	for name, damage := range map[string]func(path string, b []byte) []byte{
		"a flipped byte": func(_ string, b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"cut short":      func(_ string, b []byte) []byte { return b[:len(b)-40] },
		"grown":          func(_ string, b []byte) []byte { return append(b, 0) },
	} {
		m := take()
		path := f.file(t, m.Key)
		b, _ := os.ReadFile(path)
		if err := os.WriteFile(path, damage(path, b), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Verify(ctx, m, ReadOptions{})
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), m.Key) {
			t.Errorf("%s: Verify = %v, want ErrDamaged naming the key", name, err)
		}
	}

	// Another backup's object under this one's key does not open either.
	a, b := take(), take()
	bb, _ := os.ReadFile(f.file(t, b.Key))
	os.WriteFile(f.file(t, a.Key), bb, 0o600)
	if _, err := f.svc.Verify(ctx, a, ReadOptions{}); !errors.Is(err, ErrDamaged) {
		t.Errorf("swapped object: %v", err)
	}

	// A changed manifest does not open; a missing one is named.
	m := take()
	mp := f.file(t, m.Key+manifestExt)
	mb, _ := os.ReadFile(mp)
	mb[len(mb)-1] ^= 1
	os.WriteFile(mp, mb, 0o600)
	if _, err := f.svc.Manifest(ctx, m.Key); !errors.Is(err, ErrDamaged) {
		t.Errorf("changed manifest: %v", err)
	}
	if _, err := f.objects.Purge(ctx, m.Key+manifestExt); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Manifest(ctx, m.Key); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "no manifest") {
		t.Errorf("missing manifest: %v", err)
	}
	list, err := f.svc.List(ctx)
	if err != nil || len(list) != 6 || list[0].Key != m.Key || list[0].Problem == "" {
		t.Fatalf("List: %+v, %v", list, err)
	}
	if _, err := f.svc.Manifest(ctx, "backups/2026-01-01/nonsense"); err == nil || !strings.Contains(err.Error(), "not a backup's key") {
		t.Errorf("bad key: %v", err)
	}
}

func TestFindPicksTheNewestAtOrBefore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storetest.SQLite(t))
	base := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var taken []time.Time
	for i := range 3 {
		now := base.Add(time.Duration(i) * time.Hour)
		f.svc.Now = func() time.Time { return now }
		m, err := f.svc.Create(ctx, CreateOptions{Actor: ActorSystem})
		if err != nil {
			t.Fatal(err)
		}
		taken = append(taken, m.TakenAt)
	}
	for _, tt := range []struct {
		at   time.Time
		want int
	}{
		{base.Add(90 * time.Minute), 1},
		{base.Add(time.Hour), 1}, // at the very time: that backup
		{base.Add(time.Hour - time.Millisecond), 0},
		{base.Add(48 * time.Hour), 2},
	} {
		m, err := f.svc.Find(ctx, tt.at)
		if err != nil || !m.TakenAt.Equal(taken[tt.want]) {
			t.Errorf("Find(%s) = %v, %v; want the backup of %s", tt.at, m, err, taken[tt.want])
		}
	}
	if _, err := f.svc.Find(ctx, base.Add(-time.Second)); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "oldest is from 2026-11-20T10:00:00.000Z") {
		t.Errorf("before the oldest: %v", err)
	}
}

func TestPruneKeepsTheRetentionAndTheNewest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		now := time.Now()
		var keys []string
		for _, age := range []time.Duration{50 * 24 * time.Hour, 40 * 24 * time.Hour, 30 * 24 * time.Hour, time.Hour} {
			f.svc.Now = func() time.Time { return now.Add(-age) }
			m, err := f.svc.Create(ctx, CreateOptions{Actor: ActorSystem})
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, m.Key)
		}
		// A delete marker hides the oldest; prune purges its versions too.
		if err := f.objects.Delete(ctx, keys[0]); err != nil {
			t.Fatal(err)
		}
		removed, err := f.svc.Prune(ctx, now.Add(-35*24*time.Hour), ActorSystem)
		if err != nil || strings.Join(removed, " ") != keys[0]+" "+keys[1] {
			t.Fatalf("Prune removed %v, %v; want the two older than 35 days", removed, err)
		}
		for _, k := range keys[:2] {
			for _, key := range []string{k, k + manifestExt} {
				if v, err := f.objects.Versions(ctx, key); !errors.Is(err, blob.ErrNotFound) {
					t.Errorf("%s still has versions %v (%v)", key, v, err)
				}
			}
		}
		list, err := f.svc.List(ctx)
		if err != nil || len(list) != 2 || list[0].Key != keys[3] || list[1].Key != keys[2] {
			t.Fatalf("left: %+v, %v", list, err)
		}
		events, _, err := f.st.AuditEvents(ctx, store.AuditFilter{Action: AuditExpire, Limit: 10})
		if err != nil || len(events) != 2 || events[0].Actor != ActorSystem {
			t.Fatalf("audit of expiry: %+v, %v", events, err)
		}

		// The newest backup stays, however old.
		removed, err = f.svc.Prune(ctx, now.Add(time.Hour), ActorSystem)
		if err != nil || len(removed) != 1 || removed[0] != keys[2] {
			t.Fatalf("Prune of everything removed %v, %v; want all but the newest", removed, err)
		}
	})
}

// TestFirstBackupIsDueSoon: a store without backups gets its first a
// minute after the server starts, not an interval later, so restarts more
// frequent than the interval cannot keep it from ever having one.
func TestFirstBackupIsDueSoon(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		started := time.Now()
		w := &Worker{Service: f.svc, Interval: time.Hour, Retention: 24 * time.Hour}
		if due := w.due(ctx, started); !due.Equal(started.Add(firstDelay)) {
			t.Errorf("no backup yet, interval 1h: due %v after start, want %v", due.Sub(started), firstDelay)
		}
		w.Interval = 20 * time.Second
		if due := w.due(ctx, started); !due.Equal(started.Add(20 * time.Second)) {
			t.Errorf("no backup yet, interval 20s: due %v after start", due.Sub(started))
		}
		w.Interval = time.Hour
		m, err := w.RunOnce(ctx)
		if err != nil || m == nil {
			t.Fatal(m, err)
		}
		if due := w.due(ctx, started); !due.Equal(m.TakenAt.Add(time.Hour)) {
			t.Errorf("after a backup at %v: due %v, want an interval later", m.TakenAt, due)
		}
	})
}

func TestWorkerTakesOneBackupPerInterval(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		m := metrics.New("test", nil)
		w := &Worker{Service: f.svc, Interval: time.Hour, Retention: 24 * time.Hour, Metrics: m}
		first, err := w.RunOnce(ctx)
		if err != nil || first == nil {
			t.Fatalf("first RunOnce: %v, %v", first, err)
		}
		// The newest is less than an interval old: nothing to do.
		if again, err := w.RunOnce(ctx); err != nil || again != nil {
			t.Fatalf("second RunOnce took %v, %v", again, err)
		}
		if f.st.Dialect() == store.Postgres {
			// While another server holds the lock, this one waits its turn.
			release, ok, err := f.st.TryLock(ctx, lockName)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			w.Interval = time.Millisecond
			if got, err := w.RunOnce(ctx); err != nil || got != nil {
				t.Errorf("RunOnce under another server's lock took %v, %v", got, err)
			}
			release()
		}
		w.Interval = time.Millisecond
		time.Sleep(2 * time.Millisecond)
		if next, err := w.RunOnce(ctx); err != nil || next == nil || next.Key == first.Key {
			t.Fatalf("RunOnce after the interval: %v, %v", next, err)
		}
		// Each scheduled backup and its time are in the metrics.
		var successes, last float64
		fams, _ := m.Gatherer().Gather()
		for _, fam := range fams {
			for _, s := range fam.GetMetric() {
				switch fam.GetName() {
				case "leadcap_backups_total":
					if len(s.GetLabel()) == 1 && s.GetLabel()[0].GetValue() == "success" {
						successes = s.GetCounter().GetValue()
					}
				case "leadcap_backup_last_success_timestamp_seconds":
					last = s.GetGauge().GetValue()
				}
			}
		}
		if successes != 2 || last < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("metrics: %v successes, last at %v", successes, last)
		}
	})
}

func TestRestoreOfAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	// A database of the leadcap before the newest migration: the backup
	// restores into the schema it was taken from, then moves up.
	st, keys := storetest.Open(t, storetest.SQLite(t), store.Options{})
	_, known, err := st.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := store.Open(ctx, storetest.SQLite(t), store.Options{Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.MigrateTo(ctx, known-1); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateConference(ctx, &leadcap.Conference{Slug: "expo", Name: "Expo", Status: leadcap.StatusOpen,
		Consent: leadcap.ConsentText{Text: "x", Hash: "h1"}}); err != nil {
		t.Fatal(err)
	}
	objects, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer objects.Close()
	svc := &Service{Store: src, Blob: objects, Keys: keys, Log: slog.New(slog.DiscardHandler)}
	m, err := svc.Create(ctx, CreateOptions{Actor: ActorCLI})
	if err != nil || m.SchemaVersion >= known {
		t.Fatalf("backup of the older schema: %+v, %v", m, err)
	}

	for _, dsn := range []string{storetest.SQLite(t), storetest.Postgres(t)} {
		dst, err := store.Open(ctx, dsn, store.Options{Sealer: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		res, err := svc.Restore(ctx, m, dst, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cur, _, _ := dst.SchemaVersion(ctx); cur != known || len(res.Migrations) == 0 {
			t.Fatalf("%s: schema %d after restore, migrations %v", dst.Dialect(), cur, res.Migrations)
		}
		if c, err := dst.Conference(ctx, "expo"); err != nil || c.Name != "Expo" {
			t.Fatalf("%s: conference after restore: %v %v", dst.Dialect(), c, err)
		}
	}

	// A backup from a newer leadcap is refused before the target changes.
	newer := *m
	newer.SchemaVersion = known + 1
	dst, _ := storetest.Open(t, storetest.SQLite(t), store.Options{Sealer: keys})
	if _, err := svc.Restore(ctx, &newer, dst, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "newer than this leadcap") {
		t.Fatalf("restore of a newer schema: %v", err)
	}
}
