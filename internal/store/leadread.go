package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/leadcap/leadcap"
)

// readPages reads the leads of f, size at a time, each page into the rows
// that next gives, and calls full after each page it filled, until there
// are no more leads. Every page is read by one statement, prepared once on
// one connection, whose page cache stays warm.
//
// It reads through the driver rather than database/sql: for a million
// leads of 15 columns, database/sql's conversions and its copy of every
// sealed value cost as much CPU as SQLite's own reading.
func (s *Store) readPages(ctx context.Context, f LeadFilter, size int, next func() (*[]rawLead, error), full func()) error {
	where, args := filterSQL(f)
	n := len(args)
	// key orders the leads and is the cursor of the pages.
	key, cols, after := "id", leadColumns, any(f.After)
	if s.dialect == SQLite && f.ConferenceID == "" && f.After == "" {
		key, cols, after = "rowid", "rowid, "+leadColumns, int64(0)
	}
	q := fmt.Sprintf(`SELECT %s FROM leads WHERE 1 = 1%s AND %s > $%d ORDER BY %s LIMIT $%d`, cols, where, key, n+1, key, n+2)
	conn, done, err := s.scanConn(ctx)
	if err != nil {
		return err
	}
	defer done()
	return conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("the %T driver cannot prepare with a context", dc)
		}
		st, err := prep.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer st.Close()
		query, ok := st.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("the %T driver cannot query with a context", st)
		}
		params := make([]driver.NamedValue, n+2)
		for i, a := range args {
			params[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		params[n] = driver.NamedValue{Ordinal: n + 1, Value: after}
		params[n+1] = driver.NamedValue{Ordinal: n + 2, Value: int64(size)}
		dest := make([]driver.Value, leadColumnCount+1)
		if key == "id" {
			dest = dest[:leadColumnCount]
		}
		for {
			rows, err := next()
			if err != nil {
				return err
			}
			last, err := readPage(ctx, query, params, dest, rows)
			if err != nil {
				return err
			}
			if len(*rows) == 0 {
				return nil
			}
			params[n].Value = last
			full()
			if len(*rows) < size {
				return nil
			}
		}
	})
}

// scanConn returns a read connection for a query that reads each page of
// a table once, and done, which gives it back. On SQLite its page cache is
// cut to 2 MB until then: a million leads read through the usual 32 MB
// (cacheKiB) would fill it with pages the scan does not read again; an
// export that read and then counted its leads so peaked at 140 MB of RSS
// rather than 80 MB.
func (s *Store) scanConn(ctx context.Context) (conn *sql.Conn, done func(), err error) {
	if conn, err = s.db.Conn(ctx); err != nil {
		return nil, nil, err
	}
	if s.dialect != SQLite {
		return conn, func() { conn.Close() }, nil
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -2000`); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		// Should this fail, the connection keeps the smaller cache.
		conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = -%d`, cacheKiB))
		conn.Close()
	}, nil
}

// readPage runs the query of one page and appends its rows to rows,
// reusing the leads rows already has room for. It returns the key of the
// last row: the first value of dest.
func readPage(ctx context.Context, query driver.StmtQueryContext, params []driver.NamedValue, dest []driver.Value, rows *[]rawLead) (driver.Value, error) {
	rs, err := query.QueryContext(ctx, params)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var last driver.Value
	cols := dest[len(dest)-leadColumnCount:]
	for {
		if err := rs.Next(dest); errors.Is(err, io.EOF) {
			return last, nil
		} else if err != nil {
			return nil, err
		}
		*rows = append(*rows, rawLead{})
		r := &(*rows)[len(*rows)-1]
		if err := scanDriverLead(cols, &r.lead, &r.sealed); err != nil {
			return nil, err
		}
		last = dest[0]
	}
}

// leadColumnCount is the number of leadColumns.
const leadColumnCount = 15

// scanDriverLead is scanRawLead for the values a driver gives for the
// leadColumns: text as strings, integers as int64, booleans as bool
// (PostgreSQL) or 0 and 1 (SQLite), the sealed data as bytes the driver
// no longer uses.
func scanDriverLead(v []driver.Value, l *leadcap.Lead, sealed *[]byte) error {
	var d driverScan
	*l = leadcap.Lead{
		ID: d.text(v, 0), ConferenceID: d.text(v, 1), SubmissionID: d.text(v, 2), Source: d.text(v, 3), DeviceID: d.text(v, 4),
		Consent: leadcap.Consent{Contact: d.bool(v, 5), Marketing: d.bool(v, 6), Version: int(d.int(v, 7)), TextHash: d.text(v, 8),
			At: fromMicros(d.int(v, 9))},
		Spam: d.bool(v, 10), SpamReason: d.text(v, 11),
		CreatedAt: fromMicros(d.int(v, 13)), UpdatedAt: fromMicros(d.int(v, 14)),
	}
	*sealed = d.bytes(v, 12)
	return d.err
}

// driverScan converts driver values, keeping the first error.
type driverScan struct{ err error }

func (d *driverScan) fail(v []driver.Value, i int, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("column %d of the leads: %T, want %s", i+1, v[i], want)
	}
}

func (d *driverScan) text(v []driver.Value, i int) string {
	switch x := v[i].(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	d.fail(v, i, "text")
	return ""
}

func (d *driverScan) int(v []driver.Value, i int) int64 {
	if x, ok := v[i].(int64); ok {
		return x
	}
	d.fail(v, i, "an integer")
	return 0
}

func (d *driverScan) bool(v []driver.Value, i int) bool {
	switch x := v[i].(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	d.fail(v, i, "a boolean")
	return false
}

func (d *driverScan) bytes(v []driver.Value, i int) []byte {
	if x, ok := v[i].([]byte); ok {
		return x
	}
	d.fail(v, i, "bytes")
	return nil
}
