package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

func appendN(t *testing.T, s *store.Store, n int, action string) {
	t.Helper()
	for i := range n {
		err := s.AppendAudit(context.Background(), leadcap.AuditEvent{Actor: "cli", Action: action,
			Target: fmt.Sprint("user:", i), Result: leadcap.AuditSuccess, Detail: map[string]string{"i": fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func mustVerify(t *testing.T, s *store.Store) *store.AuditReport {
	t.Helper()
	rep, err := s.VerifyAudit(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// dropAppendOnly removes the triggers that refuse changes to the trail, as
// an intruder with database access would.
func dropAppendOnly(t *testing.T, s *store.Store) {
	t.Helper()
	stmts := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if s.Dialect() == store.Postgres {
		stmts = []string{`DROP TRIGGER audit_log_no_change ON audit_log`}
	}
	for _, q := range stmts {
		if err := s.ExecForTest(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditChainAndTamper(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		s := MustOpen(t, dsn)
		ctx := context.Background()
		if rep := mustVerify(t, s); rep.Records != 0 || rep.Broken != nil {
			t.Fatalf("empty trail: %+v", rep)
		}
		appendN(t, s, 10, "user.update")
		rep := mustVerify(t, s)
		if rep.Records != 10 || rep.Head != 10 || rep.Broken != nil {
			t.Fatalf("fresh trail: %+v", rep)
		}
		// The database itself refuses changes.
		for _, q := range []string{`UPDATE audit_log SET result = 'failure' WHERE seq = 3`, `DELETE FROM audit_log WHERE seq = 3`} {
			if err := s.ExecForTest(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: %v, want refused as append-only", q, err)
			}
		}
		dropAppendOnly(t, s)

		// A changed record.
		if err := s.ExecForTest(ctx, `UPDATE audit_log SET result = 'failure' WHERE seq = 4`); err != nil {
			t.Fatal(err)
		}
		rep = mustVerify(t, s)
		if rep.Broken == nil || rep.Broken.Seq != 4 || !strings.Contains(rep.Broken.Reason, "changed") {
			t.Fatalf("changed record 4: %+v", rep.Broken)
		}
		// A changed record whose hash was recomputed still breaks the link to the next.
		ev, _, err := s.AuditEvents(ctx, store.AuditFilter{Before: 5, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ExecForTest(ctx, `UPDATE audit_log SET hash = $1 WHERE seq = 4`, store.AuditHash(ev[0])); err != nil {
			t.Fatal(err)
		}
		rep = mustVerify(t, s)
		if rep.Broken == nil || rep.Broken.Seq != 5 || !strings.Contains(rep.Broken.Reason, "hash of record 4") {
			t.Fatalf("rehashed record 4: %+v", rep.Broken)
		}
	})
}

func TestAuditDeleted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		s := MustOpen(t, dsn)
		ctx := context.Background()
		appendN(t, s, 8, "auth.login")
		dropAppendOnly(t, s)
		if err := s.ExecForTest(ctx, `DELETE FROM audit_log WHERE seq = 6`); err != nil {
			t.Fatal(err)
		}
		rep := mustVerify(t, s)
		if rep.Broken == nil || rep.Broken.Seq != 6 || !strings.Contains(rep.Broken.Reason, "missing") || rep.Records != 7 {
			t.Fatalf("deleted record 6: %+v %+v", rep, rep.Broken)
		}

		// Cutting records off the end is caught by the chain's head.
		s2 := MustOpen(t, freshLike(t, dsn))
		appendN(t, s2, 5, "auth.login")
		dropAppendOnly(t, s2)
		if err := s2.ExecForTest(ctx, `DELETE FROM audit_log WHERE seq >= 4`); err != nil {
			t.Fatal(err)
		}
		rep = mustVerify(t, s2)
		if rep.Broken == nil || rep.Broken.Seq != 4 {
			t.Fatalf("truncated trail: %+v", rep.Broken)
		}
	})
}

// freshLike returns a new empty database of the same backend as dsn.
func freshLike(t *testing.T, dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return storetest.Postgres(t)
	}
	return storetest.SQLite(t)
}

// TestAuditConcurrentAppends appends from two Store instances on one
// database at once, as two servers (or a server and the CLI) do.
func TestAuditConcurrentAppends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		keys, _, err := crypto.LoadOrCreate(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var stores []*store.Store
		for range 2 {
			s, err := store.Open(context.Background(), dsn, store.Options{Sealer: keys})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			stores = append(stores, s)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for w := range 10 {
			wg.Go(func() {
				for i := range 20 {
					errs <- stores[w%2].AppendAudit(context.Background(), leadcap.AuditEvent{Actor: fmt.Sprint("w", w),
						Action: "test.append", Target: fmt.Sprint(i), Result: leadcap.AuditSuccess})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rep := mustVerify(t, stores[0])
		if rep.Records != 200 || rep.Head != 200 || rep.Broken != nil {
			t.Fatalf("after 200 concurrent appends: %+v %+v", rep, rep.Broken)
		}
	})
}

func TestAuditFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		s := MustOpen(t, dsn)
		ctx := context.Background()
		base := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
		add := func(min int, actorID, action, target, result string) {
			t.Helper()
			if err := s.AppendAudit(ctx, leadcap.AuditEvent{At: base.Add(time.Duration(min) * time.Minute), ActorID: actorID,
				Actor: actorID + "@example.com", Action: action, Target: target, Result: result,
				UserAgent: "Mozilla\x00/5.0 \xff" + strings.Repeat("x", 600)}); err != nil {
				t.Fatal(err)
			}
		}
		add(0, "u1", "auth.login", "user:u1", leadcap.AuditSuccess)
		add(1, "", "auth.login", "user:u2", leadcap.AuditFailure)
		add(2, "u1", "auth.mfa.enable", "user:u1", leadcap.AuditSuccess)
		add(3, "u1", "user.create", "user:u3", leadcap.AuditSuccess)
		add(4, "u1", "authx.other", "user:u1", leadcap.AuditSuccess)
		count := func(f store.AuditFilter) []int64 {
			t.Helper()
			evs, _, err := s.AuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, ev := range evs {
				seqs = append(seqs, ev.Seq)
			}
			return seqs
		}
		for _, tt := range []struct {
			name string
			f    store.AuditFilter
			want string
		}{
			{"all, newest first", store.AuditFilter{}, "[5 4 3 2 1]"},
			{"action prefix", store.AuditFilter{Action: "auth"}, "[3 2 1]"},
			{"exact action", store.AuditFilter{Action: "auth.login"}, "[2 1]"},
			{"actor", store.AuditFilter{ActorID: "u1"}, "[5 4 3 1]"},
			{"target", store.AuditFilter{Target: "user:u1", Action: "auth"}, "[3 1]"},
			{"result", store.AuditFilter{Result: leadcap.AuditFailure}, "[2]"},
			{"time window", store.AuditFilter{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute)}, "[3 2]"},
			{"cursor", store.AuditFilter{Before: 3}, "[2 1]"},
		} {
			if got := fmt.Sprint(count(tt.f)); got != tt.want {
				t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
			}
		}
		page, next, err := s.AuditEvents(ctx, store.AuditFilter{Limit: 2})
		if err != nil || len(page) != 2 || next != "4" {
			t.Fatalf("first page: %d records, next %q, %v", len(page), next, err)
		}
		// Stored text is bounded and clean, and still verifies.
		if ua := page[0].UserAgent; len(ua) > 256 || strings.ContainsRune(ua, 0) || !strings.HasPrefix(ua, "Mozilla/5.0 \uFFFD") {
			t.Fatalf("user agent stored as %q", ua)
		}
		if rep := mustVerify(t, s); rep.Broken != nil {
			t.Fatalf("verify: %+v", rep.Broken)
		}
	})
}
