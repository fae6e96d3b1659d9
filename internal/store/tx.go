package store

import (
	"context"
	"database/sql"
)

// Tx is a transaction with the context its statements run under. On SQLite's
// single writer it runs statements prepared once on the write connection, so
// the hot path does not parse SQL again for every lead.
type Tx struct {
	tx    *sql.Tx
	ctx   context.Context
	cache *stmtCache // SQLite committer's prepared statements; nil elsewhere
}

// stmt returns the prepared form of query within t, or nil when it is not
// prepared yet; the writer then prepares it after the batch, since the one
// write connection is busy with this transaction now.
func (t *Tx) stmt(query string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	st, ok := t.cache.stmts[query]
	if !ok {
		t.cache.unprepared[query] = true
		return nil
	}
	return t.tx.StmtContext(t.ctx, st)
}

func (t *Tx) exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *Tx) query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(query); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, query, args...)
}

// queryIDs runs a query of one text column and returns its values. The
// rows are closed when it returns, so that the transaction's connection
// (on SQLite the one write connection) is free for the next statement.
func (t *Tx) queryIDs(query string, args ...any) ([]string, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// row is what queryRow returns: a *sql.Row.
type row interface{ Scan(dest ...any) error }

func (t *Tx) queryRow(query string, args ...any) row {
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// QueryRowContext lets a Tx serve where a *sql.DB does (currentVersion).
func (t *Tx) QueryRowContext(_ context.Context, query string, args ...any) row {
	return t.queryRow(query, args...)
}
