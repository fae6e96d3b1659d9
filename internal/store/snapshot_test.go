package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// copyRows copies every table of src into dst through a snapshot and a
// Loader, as a backup and a restore do, and returns the rows by table.
func copyRows(t *testing.T, src, dst *store.Store) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	type table struct {
		t    store.Table
		rows [][]any
	}
	var tables []table
	var version int
	err := src.ReadSnapshot(ctx, func(sn *store.Snapshot) error {
		version = sn.Version
		for _, tb := range sn.Tables {
			cp := table{t: tb}
			if err := sn.Rows(tb, func(values []any) error {
				cp.rows = append(cp.rows, append([]any(nil), values...))
				return nil
			}); err != nil {
				return err
			}
			tables = append(tables, cp)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.CheckEmpty(ctx); err != nil {
		t.Fatalf("fresh target: %v", err)
	}
	if _, err := dst.MigrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	if err := dst.CheckEmpty(ctx); err != nil {
		t.Fatalf("migrated target: %v", err)
	}
	var loaded map[string]int64
	err = dst.Load(ctx, func(l *store.Loader) error {
		for _, tb := range tables {
			if err := l.Table(tb.t.Name, tb.t.Columns); err != nil {
				return err
			}
			for _, r := range tb.rows {
				if err := l.Insert(r); err != nil {
					return err
				}
			}
		}
		loaded = map[string]int64{}
		for _, tb := range tables {
			n, err := l.Count(tb.t.Name)
			if err != nil {
				return err
			}
			loaded[tb.t.Name] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

func TestSnapshotLoadsIntoEitherDialect(t *testing.T) {
	for _, from := range []string{"sqlite", "postgres"} {
		ctx := context.Background()
		src, keys := storetest.Open(t, storetest.Backends()[from](t), store.Options{Merge: testMerge})
		c := MustConference(t, src, "expo")
		// More leads than one INSERT batch takes.
		var seventh string
		for i := range 510 {
			res, err := src.CaptureLead(ctx, newLead(c, fmt.Sprint("s", i), fmt.Sprintf("p%d@example.com", i)), fmt.Sprintf("p%d@example.com", i))
			if err != nil {
				t.Fatal(err)
			}
			if i == 7 {
				seventh = res.LeadID
			}
		}
		if _, err := src.PutShieldRule(ctx, &leadcap.ShieldRule{Action: leadcap.ShieldBlock, Network: "192.0.2.0/24", CreatedBy: "cli"}); err != nil {
			t.Fatal(err)
		}
		if err := src.AppendAudit(ctx, leadcap.AuditEvent{Actor: "cli", Action: "test.event", Result: leadcap.AuditSuccess}); err != nil {
			t.Fatal(err)
		}
		for _, to := range []string{"sqlite", "postgres"} {
			t.Run(from+"-to-"+to, func(t *testing.T) {

				dst, _ := storetest.Open(t, storetest.Backends()[to](t), store.Options{Sealer: keys, Merge: testMerge})
				// storetest.Open migrated it: the migrations' own rows do not
				// make it non-empty.
				loaded := copyRows(t, src, dst)
				if loaded["leads"] != 510 || loaded["submissions"] != 510 || loaded["shield_rules"] != 1 ||
					loaded["audit_log"] != 1 || loaded["audit_head"] != 1 || loaded["conferences"] != 1 {
					t.Fatalf("loaded %v", loaded)
				}
				if err := dst.CheckSchema(ctx); err != nil {
					t.Fatal(err)
				}
				// The leads open with the same keys, and the booleans came across.
				got, err := dst.Lead(ctx, seventh)
				if err != nil || got.Email != "p7@example.com" || !got.Consent.Contact || got.Consent.Marketing {
					t.Fatalf("restored lead: %+v, %v", got, err)
				}
				if n, err := dst.CountLeads(ctx, c.ID); err != nil || n != 510 {
					t.Fatalf("CountLeads = %d, %v", n, err)
				}
				// New rows get new ids after the loaded ones.
				r := &leadcap.ShieldRule{Action: leadcap.ShieldBlock, Network: "198.51.100.0/24", CreatedBy: "cli"}
				if _, err := dst.PutShieldRule(ctx, r); err != nil {
					t.Fatal(err)
				}
				if rules, err := dst.ShieldRules(ctx); err != nil || len(rules) != 2 || rules[0].ID == rules[1].ID {
					t.Fatalf("rules after load: %v, %v", rules, err)
				}
				if err := dst.AppendAudit(ctx, leadcap.AuditEvent{Actor: "cli", Action: "test.after", Result: leadcap.AuditSuccess}); err != nil {
					t.Fatal(err)
				}
				if n, err := dst.VerifyAudit(ctx, nil); err != nil || n.Records != 2 || n.Broken != nil {
					t.Fatalf("audit chain after load: %+v, %v", n, err)
				}
				// Now it holds data, and says so.
				if err := dst.CheckEmpty(ctx); err == nil || !strings.Contains(err.Error(), "holds rows") || !strings.Contains(err.Error(), "leads 510") {
					t.Fatalf("CheckEmpty on a loaded database: %v", err)
				}
			})
		}
	}
}

func TestLoadIsAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, _ := storetest.Open(t, dsn, store.Options{Merge: testMerge})
		err := s.Load(ctx, func(l *store.Loader) error {
			if err := l.Table("shield_rules", []string{"id", "action", "network", "country", "note", "created_by", "created_at", "expires_at"}); err != nil {
				return err
			}
			if err := l.Insert([]any{int64(1), "block", "192.0.2.0/24", "", "", "cli", int64(0), int64(0)}); err != nil {
				return err
			}
			return l.Table("no_such_table", []string{"x"})
		})
		if err == nil || !strings.Contains(err.Error(), "no table no_such_table") {
			t.Fatalf("Load into a missing table: %v", err)
		}
		if err := s.CheckEmpty(ctx); err != nil {
			t.Fatalf("a failed load left rows: %v", err)
		}
		err = s.Load(ctx, func(l *store.Loader) error {
			if err := l.Table("leads", []string{"id", "nickname"}); err != nil {
				return err
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "no column nickname") {
			t.Fatalf("Load of an unknown column: %v", err)
		}
	})
}

func TestTryLock(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.Postgres(t)
	a, keys := storetest.Open(t, dsn, store.Options{})
	b, _ := storetest.Open(t, dsn, store.Options{Sealer: keys})
	release, ok, err := a.TryLock(ctx, "backup")
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v %v", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "backup"); err != nil || ok {
		t.Fatalf("second server took a held lock: %v %v", ok, err)
	}
	if r, ok, err := b.TryLock(ctx, "other"); err != nil || !ok {
		t.Fatalf("another lock: %v %v", ok, err)
	} else {
		r()
	}
	// A leadcap in another schema of the same database has locks of its own.
	other, _ := storetest.Open(t, storetest.Postgres(t), store.Options{})
	if r, ok, err := other.TryLock(ctx, "backup"); err != nil || !ok {
		t.Fatalf("TryLock in another schema: %v %v", ok, err)
	} else {
		r()
	}
	release()
	r, ok, err := b.TryLock(ctx, "backup")
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v %v", ok, err)
	}
	r()

	sq, _ := storetest.Open(t, storetest.SQLite(t), store.Options{})
	if r, ok, err := sq.TryLock(ctx, "backup"); err != nil || !ok {
		t.Fatalf("SQLite TryLock: %v %v", ok, err)
	} else {
		r()
	}
}
