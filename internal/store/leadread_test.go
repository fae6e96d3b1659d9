package store

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// TestScanConnCache: a scan reads with a small page cache, and the
// connection goes back to the pool with the usual one.
func TestScanConnCache(t *testing.T) {
	ctx := context.Background()
	s := openDataDir(t, t.TempDir(), "")
	s.db.SetMaxOpenConns(1) // the scan's connection is the one checked after
	cacheSize := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := cacheSize(s.db); n != -cacheKiB {
		t.Fatalf("cache_size %d before the scan, want %d", n, -cacheKiB)
	}
	conn, done, err := s.scanConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := cacheSize(conn); n != -2000 {
		t.Fatalf("cache_size %d during the scan, want -2000", n)
	}
	done()
	if n := cacheSize(s.db); n != -cacheKiB {
		t.Fatalf("cache_size %d after the scan, want %d", n, -cacheKiB)
	}
	// The writer keeps a smaller cache of its own (writerCacheKiB).
	if n := cacheSize(s.wdb); n != -writerCacheKiB {
		t.Fatalf("writer's cache_size %d, want %d", n, -writerCacheKiB)
	}
}

// TestLeadColumnCount keeps leadColumnCount, the width of the driver rows
// the stream reads, in step with leadColumns.
func TestLeadColumnCount(t *testing.T) {
	if n := len(strings.Split(leadColumns, ",")); n != leadColumnCount {
		t.Fatalf("leadColumns has %d columns, leadColumnCount says %d", n, leadColumnCount)
	}
}
