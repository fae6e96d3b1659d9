package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"

	"github.com/leadcap/leadcap"
	"golang.org/x/sync/errgroup"
)

// streamPage is the default number of leads EachLead reads per query.
const streamPage = 1000

// page is one page of EachLead: rows as read, then the leads opened from
// them. done is closed when leads (or err) are set.
type page struct {
	rows  []rawLead
	leads []*leadcap.Lead
	err   error
	done  chan struct{}
}

// rawLead is a lead row as read: everything but the personal fields, which
// are still sealed.
type rawLead struct {
	lead   leadcap.Lead
	sealed []byte
}

// filterSQL returns the WHERE clause (after "WHERE 1 = 1") and arguments
// that select the leads of f, ignoring f.After and f.Limit.
func filterSQL(f LeadFilter) (string, []any) {
	var q string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.ConferenceID != "" {
		q += ` AND conference_id = ` + arg(f.ConferenceID)
	}
	if !f.Since.IsZero() {
		q += ` AND created_at >= ` + arg(micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND created_at < ` + arg(micros(f.Until))
	}
	if f.OnlySpam {
		q += ` AND spam = ` + arg(true)
	} else if !f.IncludeSpam {
		q += ` AND spam = ` + arg(false)
	}
	return q, args
}

// CountMatchingLeads counts the leads EachLead would give for f.
func (s *Store) CountMatchingLeads(ctx context.Context, f LeadFilter) (int64, error) {
	where, args := filterSQL(f)
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM leads WHERE 1 = 1`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count leads: %w", err)
	}
	return n, nil
}

// EachLead calls fn with every lead matching f, without its history, in id
// order (creation order; stable), starting after f.After when it is set.
// It reads f.Limit leads per query (default 1000) in a separate statement
// each, so no transaction stays open for the whole walk: a lead committed
// meanwhile may or may not be seen, and a caller that needs an exact count
// checks CountMatchingLeads afterwards.
//
// Memory does not grow with the number of leads: a few pages are in flight
// at once. The personal fields are decrypted and decoded by a pool of
// goroutines (one per CPU), page by page, while fn sees the leads in order
// on the calling goroutine. fn must not keep the lead after it returns
// unless it copies it. An error from fn stops the walk and is returned.
func (s *Store) EachLead(ctx context.Context, f LeadFilter, fn func(*leadcap.Lead) error) error {
	size := f.Limit
	if size <= 0 {
		size = streamPage
	}
	workers := runtime.GOMAXPROCS(0)
	g, ctx := errgroup.WithContext(ctx)
	work := make(chan *page, workers)
	// ordered bounds the pages in flight: read, being opened, or waiting
	// for fn.
	ordered := make(chan *page, workers+1)
	g.Go(func() error {
		defer close(work)
		defer close(ordered)
		return s.readPages(ctx, f, size, func(p *page) error {
			select {
			case ordered <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case work <- p:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	for range workers {
		g.Go(func() error {
			for p := range work {
				p.leads = make([]*leadcap.Lead, len(p.rows))
				for i := range p.rows {
					r := &p.rows[i]
					if err := s.openLead(&r.lead, r.sealed); err != nil {
						p.err = err
						break
					}
					r.sealed = nil
					p.leads[i] = &r.lead
				}
				close(p.done)
			}
			return nil
		})
	}
	g.Go(func() error {
		for p := range ordered {
			select {
			case <-p.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if p.err != nil {
				return p.err
			}
			for _, l := range p.leads {
				if err := fn(l); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("store: each lead: %w", err)
	}
	return nil
}

// readPages reads the leads of f, size at a time, and hands each page to
// emit until there are no more. Every page is read by one statement,
// prepared once on one connection, whose page cache stays warm.
func (s *Store) readPages(ctx context.Context, f LeadFilter, size int, emit func(*page) error) error {
	where, args := filterSQL(f)
	n := len(args)
	q := fmt.Sprintf(`SELECT %s FROM leads WHERE 1 = 1%s AND id > $%d ORDER BY id LIMIT $%d`, leadColumns, where, n+1, n+2)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer stmt.Close()
	after := f.After
	for {
		p := &page{rows: make([]rawLead, 0, size), done: make(chan struct{})}
		if err := readPage(ctx, stmt, append(args, after, size), p); err != nil {
			return err
		}
		if len(p.rows) == 0 {
			return nil
		}
		after = p.rows[len(p.rows)-1].lead.ID
		if err := emit(p); err != nil {
			return err
		}
		if len(p.rows) < size {
			return nil
		}
	}
}

func readPage(ctx context.Context, stmt *sql.Stmt, args []any, p *page) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		p.rows = append(p.rows, rawLead{})
		r := &p.rows[len(p.rows)-1]
		if err := scanRawLead(rows, &r.lead, &r.sealed); err != nil {
			return err
		}
	}
	return rows.Err()
}
