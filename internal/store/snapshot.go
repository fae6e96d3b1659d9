package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Backups read every table in one snapshot and load them into another
// database, of either dialect. The SQL here names tables and columns from
// the database's own catalog, so a table added by a later migration is
// copied without a change here.

// Table is one of leadcap's tables as a backup copies it: its name and its
// columns in the database's order.
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// Snapshot is a read-only transaction that sees one state of the whole
// database: rows committed after it began are not in it. On PostgreSQL it
// is REPEATABLE READ; on SQLite a read transaction on the WAL database,
// which the writer does not wait for.
type Snapshot struct {
	tx  *Tx
	typ map[string]map[string]string
	// Version is the schema version of the database.
	Version int
	// Tables are leadcap's tables, schema_migrations aside, each after the
	// tables its foreign keys refer to.
	Tables []Table
}

// ReadSnapshot runs fn on a snapshot of the database. A write committed
// while fn runs is not seen, and does not wait for fn.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(*Snapshot) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	defer tx.Rollback()
	t := &Tx{tx: tx, ctx: ctx}
	// The first read fixes the snapshot (SQLite starts a deferred
	// transaction's read there; PostgreSQL takes the snapshot at the first
	// statement).
	version, err := s.currentVersion(ctx, t)
	if err != nil {
		return err
	}
	tables, types, err := s.catalog(t)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return fn(&Snapshot{tx: t, typ: types, Version: version, Tables: tables})
}

// Count returns the number of rows of table in the snapshot.
func (sn *Snapshot) Count(table string) (int64, error) {
	var n int64
	if err := sn.tx.queryRow(`SELECT count(*) FROM ` + quoteIdent(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", table, err)
	}
	return n, nil
}

// Rows calls fn with each row of t, its values in the order of t.Columns:
// nil, int64, float64, bool, string or []byte. fn must not keep values
// after it returns.
func (sn *Snapshot) Rows(t Table, fn func(values []any) error) error {
	rows, err := sn.tx.query(`SELECT ` + quoteIdents(t.Columns) + ` FROM ` + quoteIdent(t.Name))
	if err != nil {
		return fmt.Errorf("store: read %s: %w", t.Name, err)
	}
	defer rows.Close()
	vals := make([]any, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("store: read %s: %w", t.Name, err)
		}
		for i, v := range vals {
			if v, ok := v.(int32); ok {
				vals[i] = int64(v)
			}
			if _, ok := v.(string); ok && sn.typ[t.Name][t.Columns[i]] == kindBytes {
				vals[i] = []byte(v.(string))
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read %s: %w", t.Name, err)
	}
	return nil
}

// Column kinds: how a value is stored, whatever the dialect calls it.
const (
	kindInt   = "int"
	kindFloat = "float"
	kindBool  = "bool"
	kindText  = "text"
	kindBytes = "bytes"
)

// columnKind maps a column's declared type (SQLite) or data type
// (PostgreSQL) to its kind; "" for a type leadcap does not use.
func columnKind(decl string) string {
	d := strings.ToUpper(decl)
	switch {
	case d == "BOOLEAN":
		return kindBool
	case strings.Contains(d, "INT"):
		return kindInt
	case strings.Contains(d, "REAL"), strings.Contains(d, "DOUB"), strings.Contains(d, "FLOA"), strings.Contains(d, "NUMERIC"):
		return kindFloat
	case strings.Contains(d, "CHAR"), strings.Contains(d, "TEXT"), strings.Contains(d, "CLOB"):
		return kindText
	case d == "BLOB", d == "BYTEA":
		return kindBytes
	}
	return ""
}

// catalog lists leadcap's tables with their columns, parents first, and
// the kind of each column by table and column.
func (s *Store) catalog(t *Tx) ([]Table, map[string]map[string]string, error) {
	var names []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.dialect == Postgres {
		q = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	if err := collect(t, q, func(r scanner) error {
		var n string
		err := r.Scan(&n)
		if n != "schema_migrations" {
			names = append(names, n)
		}
		return err
	}); err != nil {
		return nil, nil, err
	}
	types := map[string]map[string]string{}
	parents := map[string][]string{}
	for _, n := range names {
		types[n] = map[string]string{}
	}
	var tables []Table
	for _, n := range names {
		tb := Table{Name: n}
		q, fk := `SELECT name, type FROM pragma_table_info($1) ORDER BY cid`, `SELECT "table" FROM pragma_foreign_key_list($1)`
		if s.dialect == Postgres {
			q = `SELECT column_name, data_type FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
			fk = `SELECT dst.relname FROM pg_constraint c
				JOIN pg_class src ON src.oid = c.conrelid JOIN pg_class dst ON dst.oid = c.confrelid
				WHERE c.contype = 'f' AND src.relnamespace = current_schema()::regnamespace AND src.relname = $1`
		}
		if err := collect(t, q, func(r scanner) error {
			var col, typ string
			err := r.Scan(&col, &typ)
			tb.Columns = append(tb.Columns, col)
			types[n][col] = columnKind(typ)
			return err
		}, n); err != nil {
			return nil, nil, err
		}
		if err := collect(t, fk, func(r scanner) error {
			var p string
			err := r.Scan(&p)
			if p != n {
				parents[n] = append(parents[n], p)
			}
			return err
		}, n); err != nil {
			return nil, nil, err
		}
		tables = append(tables, tb)
	}
	return parentsFirst(tables, parents), types, nil
}

// parentsFirst orders tables so that each comes after the tables it
// refers to, otherwise by name.
func parentsFirst(tables []Table, parents map[string][]string) []Table {
	byName := map[string]Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	var out []Table
	placed := map[string]bool{}
	var place func(name string)
	place = func(name string) {
		if placed[name] {
			return
		}
		placed[name] = true // before the parents: a cycle ends here
		ps := append([]string(nil), parents[name]...)
		sort.Strings(ps)
		for _, p := range ps {
			if _, ok := byName[p]; ok {
				place(p)
			}
		}
		out = append(out, byName[name])
	}
	for _, t := range tables {
		place(t.Name)
	}
	return out
}

// collect runs query and calls fn for each row.
func collect(t *Tx, query string, fn func(scanner) error, args ...any) error {
	rows, err := t.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteIdents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

// seedRows are the rows the migrations insert, by table: a database that
// holds only these is as empty as a new one.
func seedRows() map[string]string {
	return map[string]string{
		"audit_head":   `id = 1 AND seq = 0 AND hash = ''`,
		"shield_state": `id = 1 AND version = 0`,
	}
}

// CheckEmpty returns nil when the database holds no data: it has no
// tables, or only leadcap's tables with no rows but those the migrations
// insert. Otherwise the error says what it holds.
func (s *Store) CheckEmpty(ctx context.Context) error {
	return s.read(ctx, func(t *Tx) error {
		version, err := s.currentVersion(ctx, t)
		if err != nil {
			return err
		}
		tables, _, err := s.catalog(t)
		if err != nil {
			return fmt.Errorf("store: check empty: %w", err)
		}
		if len(tables) > 0 && version == 0 {
			return fmt.Errorf("store: the database holds tables that are not leadcap's (%s)", tables[0].Name)
		}
		seeds := seedRows()
		var full []string
		for _, tb := range tables {
			q := `SELECT count(*) FROM ` + quoteIdent(tb.Name)
			if cond, ok := seeds[tb.Name]; ok {
				q += ` WHERE NOT (` + cond + `)`
			}
			var n int64
			if err := t.queryRow(q).Scan(&n); err != nil {
				return fmt.Errorf("store: check empty: %s: %w", tb.Name, err)
			}
			if n > 0 {
				full = append(full, fmt.Sprintf("%s %d", tb.Name, n))
			}
		}
		if len(full) > 0 {
			return fmt.Errorf("store: the database holds rows (%s)", strings.Join(full, ", "))
		}
		return nil
	})
}

// Loader inserts rows into an empty database in one transaction; see Load.
type Loader struct {
	s     *Store
	tx    *Tx
	kinds map[string]map[string]string
	seeds map[string]string

	table string
	cols  []string
	kind  []string
	batch []any // values of the rows not inserted yet
	rows  int   // rows in batch
	max   int   // rows per INSERT
	stmt  *sql.Stmt
}

// Load runs fn with a Loader in one write transaction, committed when fn
// returns nil: the database gets every row or none. Call it on an empty
// database (CheckEmpty), migrated to the schema of the rows. Foreign keys
// are checked as rows arrive on PostgreSQL (send parents first) and at the
// commit on SQLite; on PostgreSQL the sequences of serial and identity
// columns are moved past the rows loaded.
func (s *Store) Load(ctx context.Context, fn func(*Loader) error) error {
	db := s.db
	if s.dialect == SQLite {
		db = s.wdb
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	defer tx.Rollback()
	t := &Tx{tx: tx, ctx: ctx}
	if s.dialect == SQLite {
		if _, err := t.exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
			return fmt.Errorf("store: load: %w", err)
		}
	}
	_, kinds, err := s.catalog(t)
	if err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	l := &Loader{s: s, tx: t, kinds: kinds, seeds: seedRows()}
	err = fn(l)
	if err == nil {
		err = l.flush()
	}
	if l.stmt != nil {
		l.stmt.Close()
	}
	if err != nil {
		return err
	}
	if s.dialect == Postgres {
		if err := l.moveSequences(); err != nil {
			return fmt.Errorf("store: load: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: load: commit: %w", err)
	}
	return nil
}

// maxParams bounds the parameters of one INSERT, below the limits of both
// PostgreSQL (65535) and SQLite (32766).
const maxParams = 30000

// Table starts loading table with columns; the rows that follow go into
// it. Every column must exist in this database, and the table must be
// empty but for the rows the migrations inserted, which go.
func (l *Loader) Table(table string, columns []string) error {
	if err := l.flush(); err != nil {
		return err
	}
	kinds, ok := l.kinds[table]
	if !ok {
		return fmt.Errorf("store: load: this database has no table %s", table)
	}
	l.kind = make([]string, len(columns))
	for i, c := range columns {
		k, ok := kinds[c]
		if !ok {
			return fmt.Errorf("store: load: table %s of this database has no column %s", table, c)
		}
		l.kind[i] = k
	}
	if cond, ok := l.seeds[table]; ok {
		if _, err := l.tx.exec(`DELETE FROM ` + quoteIdent(table) + ` WHERE ` + cond); err != nil {
			return fmt.Errorf("store: load %s: %w", table, err)
		}
	}
	if l.stmt != nil {
		l.stmt.Close()
		l.stmt = nil
	}
	l.table, l.cols = table, columns
	// PostgreSQL takes many rows per INSERT, one round trip for each;
	// SQLite, with no round trips, is fastest with one prepared INSERT run
	// for each row (a restore of 100,000 rows took 58 s in batches of 500,
	// 3 s row by row).
	l.max = 1
	if l.s.dialect == Postgres {
		l.max = max(1, min(500, maxParams/max(1, len(columns))))
	}
	l.batch, l.rows = l.batch[:0], 0
	return nil
}

// Insert adds one row to the current table, its values in the order of
// the columns given to Table: nil, int64, float64, bool, string or []byte,
// converted to the column's type here (a SQLite integer 0 or 1 to a
// PostgreSQL boolean, and back). Rows are sent in batches.
func (l *Loader) Insert(values []any) error {
	if l.table == "" {
		return errors.New("store: load: a row before its table")
	}
	if len(values) != len(l.cols) {
		return fmt.Errorf("store: load %s: a row of %d values for %d columns", l.table, len(values), len(l.cols))
	}
	for i, v := range values {
		c, err := convert(v, l.kind[i])
		if err != nil {
			return fmt.Errorf("store: load %s.%s: %w", l.table, l.cols[i], err)
		}
		l.batch = append(l.batch, c)
	}
	l.rows++
	if l.rows == l.max {
		return l.flush()
	}
	return nil
}

// Count returns the rows of table as the loading transaction sees them,
// once the rows given so far are sent.
func (l *Loader) Count(table string) (int64, error) {
	if err := l.flush(); err != nil {
		return 0, err
	}
	var n int64
	if err := l.tx.queryRow(`SELECT count(*) FROM ` + quoteIdent(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", table, err)
	}
	return n, nil
}

// flush inserts the rows of the batch.
func (l *Loader) flush() error {
	if l.rows == 0 {
		return nil
	}
	full := l.rows == l.max
	stmt := l.stmt
	if !full || stmt == nil {
		q := l.insertSQL(l.rows)
		st, err := l.tx.tx.PrepareContext(l.tx.ctx, q)
		if err != nil {
			return fmt.Errorf("store: load %s: %w", l.table, err)
		}
		if full {
			l.stmt = st // every full batch reuses it
		} else {
			defer st.Close()
		}
		stmt = st
	}
	if _, err := stmt.ExecContext(l.tx.ctx, l.batch...); err != nil {
		return fmt.Errorf("store: load %s: %w", l.table, err)
	}
	l.batch, l.rows = l.batch[:0], 0
	return nil
}

// insertSQL is the INSERT of rows rows into the current table.
func (l *Loader) insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + quoteIdent(l.table) + ` (` + quoteIdents(l.cols) + `)`)
	if l.s.dialect == Postgres {
		// Identity columns GENERATED ALWAYS take the stored ids as they are.
		b.WriteString(` OVERRIDING SYSTEM VALUE`)
	}
	b.WriteString(` VALUES `)
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range l.cols {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// moveSequences sets each serial or identity column's sequence after the
// greatest value loaded, so that new rows get new ids.
func (l *Loader) moveSequences() error {
	type col struct{ table, column, seq string }
	var cols []col
	err := collect(l.tx, `SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name)
		FROM information_schema.columns WHERE table_schema = current_schema()
		AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL`, func(r scanner) error {
		var c col
		err := r.Scan(&c.table, &c.column, &c.seq)
		cols = append(cols, c)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range cols {
		if _, err := l.tx.exec(`SELECT setval($1, COALESCE(max(`+quoteIdent(c.column)+`), 1), max(`+quoteIdent(c.column)+`) IS NOT NULL) FROM `+quoteIdent(c.table), c.seq); err != nil {
			return fmt.Errorf("sequence of %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// convert makes v storable in a column of kind k.
func convert(v any, k string) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		switch k {
		case kindBool:
			return x, nil
		case kindInt:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case int64:
		switch k {
		case kindInt:
			return x, nil
		case kindBool:
			if x != 0 && x != 1 {
				return nil, fmt.Errorf("%d is not a boolean 0 or 1", x)
			}
			return x == 1, nil
		case kindFloat:
			return float64(x), nil
		}
	case float64:
		if k == kindFloat {
			return x, nil
		}
	case string:
		switch k {
		case kindText:
			return x, nil
		case kindBytes:
			return []byte(x), nil
		}
	case []byte:
		switch k {
		case kindBytes:
			return x, nil
		case kindText:
			return string(x), nil
		}
	default:
		return nil, fmt.Errorf("a value of type %T", v)
	}
	if k == "" {
		return v, nil // a type leadcap does not use: the driver decides
	}
	return nil, fmt.Errorf("a %T value for a %s column", v, k)
}

// TryLock takes the lock named name if no one holds it, and reports
// whether it did; release lets it go. On PostgreSQL it is a session
// advisory lock, so one server of those sharing the database holds it at a
// time, and a server that dies lets it go with its connection; its key is
// made of the schema and name, so leadcaps in other schemas of the same
// database do not share it. A SQLite database has one server, so the lock
// is always free.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	if s.dialect != Postgres {
		return func() {}, true, nil
	}
	const key = `hashtextextended('leadcap lock:' || current_schema() || ':' || $1, 0)`
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %s: %w", name, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("store: lock %s: %w", name, err)
		}
		return nil, false, nil
	}
	return func() {
		// Closing the connection would not end the session (the pool
		// keeps it), so unlock first; if that fails, drop the connection.
		if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+key+`)`, name); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, true, nil
}
