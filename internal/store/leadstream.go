package store

import (
	"context"
	"fmt"
	"runtime"

	"github.com/leadcap/leadcap"
	"golang.org/x/sync/errgroup"
)

// streamPage is the default number of leads StreamLeads reads per query.
const streamPage = 1000

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

// CountMatchingLeads counts the leads StreamLeads would give for f.
func (s *Store) CountMatchingLeads(ctx context.Context, f LeadFilter) (int64, error) {
	where, args := filterSQL(f)
	conn, done, err := s.scanConn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: count leads: %w", err)
	}
	defer done()
	var n int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM leads WHERE 1 = 1`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count leads: %w", err)
	}
	return n, nil
}

// EachLead calls fn with every lead matching f, in the order and with the
// guarantees of StreamLeads, on the calling goroutine. fn must not keep
// the lead after it returns unless it copies it. An error from fn stops the
// walk and is returned.
func (s *Store) EachLead(ctx context.Context, f LeadFilter, fn func(*leadcap.Lead) error) error {
	return StreamLeads(ctx, s, f, nil, func(leads []*leadcap.Lead, _ *struct{}) error {
		for _, l := range leads {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// StreamLeads reads every lead matching f, without its history, in a
// stable order, and hands them over a page at a time. On SQLite, leads of
// every conference come in the order they were stored (rowid order: a
// table scan, where id order would seek from the id index to every row);
// leads of one conference, and every lead on PostgreSQL, come in id order
// (creation order), after f.After when it is set (which also makes SQLite
// use id order). Of each page, work, when not nil, runs on a pool
// of goroutines (one per CPU), several pages at once, each page with its
// own out; then emit runs on the calling goroutine with each page and its
// out, in order. This lets a caller spread the work it does per lead (an
// export formats its rows) over every CPU while writing in order.
//
// Pages of f.Limit leads (default 1000) are each read by a separate
// statement, so no transaction stays open for the whole walk: a lead
// committed meanwhile may or may not be seen, and a caller that needs an
// exact count checks CountMatchingLeads afterwards.
//
// Memory does not grow with the number of leads: a few pages are in
// flight at once, and their leads and outs are used again for later pages,
// so neither work nor emit may keep a lead or an out after it returns
// (work should reuse what out holds, such as a buffer's capacity). The
// first error from reading, opening a lead, work or emit stops the walk and
// is returned; every goroutine has ended when StreamLeads returns.
func StreamLeads[T any](ctx context.Context, s *Store, f LeadFilter,
	work func(leads []*leadcap.Lead, out *T) error,
	emit func(leads []*leadcap.Lead, out *T) error) error {
	size := f.Limit
	if size <= 0 {
		size = streamPage
	}
	workers := runtime.GOMAXPROCS(0)
	g, ctx := errgroup.WithContext(ctx)
	// The pages in flight: read, being opened and worked on, or waiting for
	// emit. Two more than the workers keep every worker busy while the
	// reader fills one and emit empties another.
	inFlight := workers + 2
	free := make(chan *page[T], inFlight)
	for range inFlight {
		free <- &page[T]{rows: make([]rawLead, 0, size), leads: make([]*leadcap.Lead, 0, size)}
	}
	todo := make(chan *page[T], inFlight)
	ordered := make(chan *page[T], inFlight)
	g.Go(func() error {
		defer close(todo)
		defer close(ordered)
		var p *page[T]
		return s.readPages(ctx, f, size, func() (*[]rawLead, error) {
			select {
			case p = <-free:
				p.rows, p.err, p.done = p.rows[:0], nil, make(chan struct{})
				return &p.rows, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}, func() {
			// Neither blocks: each holds at most the inFlight pages.
			ordered <- p
			todo <- p
		})
	})
	for range workers {
		g.Go(func() error {
			for p := range todo {
				p.err = p.open(s, work)
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
			if err := ctx.Err(); err != nil {
				return err // a failure elsewhere, or the caller gave up
			}
			if err := emit(p.leads, &p.out); err != nil {
				return err
			}
			free <- p
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("store: stream leads: %w", err)
	}
	return nil
}

// page is one page of StreamLeads: rows as read, then the leads opened
// from them and what work made of them. done is closed when leads and out
// (or err) are set.
type page[T any] struct {
	rows  []rawLead
	leads []*leadcap.Lead
	out   T
	err   error
	done  chan struct{}
}

// open decrypts and decodes the page's leads, then runs work on them.
func (p *page[T]) open(s *Store, work func([]*leadcap.Lead, *T) error) error {
	p.leads = p.leads[:0]
	for i := range p.rows {
		r := &p.rows[i]
		if err := s.openLead(&r.lead, r.sealed); err != nil {
			return err
		}
		r.sealed = nil
		p.leads = append(p.leads, &r.lead)
	}
	if work == nil {
		return nil
	}
	return work(p.leads, &p.out)
}

// rawLead is a lead row as read: everything but the personal fields, which
// are still sealed.
type rawLead struct {
	lead   leadcap.Lead
	sealed []byte
}
