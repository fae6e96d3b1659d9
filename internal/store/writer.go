package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// maxBatch bounds how many callers' transactions share one commit.
const maxBatch = 512

// errClosed is returned to writes that arrive after Close.
var errClosed = errors.New("store: closed")

// writer is SQLite's single writer. It takes whatever is queued, runs each
// caller's function inside one transaction (each in its own savepoint, so
// one caller's failure does not undo another's), and commits once: many
// concurrent submissions share one fsync. It does not wait for a batch to
// fill, so a lone write is committed at once.
type writer struct {
	db *sql.DB
	// Prepared statements, used only by run's goroutine: a statement first
	// runs unprepared and is prepared between batches.
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool
	jobs       chan *writeJob
	quit       chan struct{}
	done       chan struct{}
	close      func()
}

type writeJob struct {
	ctx context.Context
	fn  func(tx *Tx) error
	err chan error
}

func newWriter(db *sql.DB) *writer {
	w := &writer{
		db:         db,
		stmts:      map[string]*sql.Stmt{},
		unprepared: map[string]bool{},
		jobs:       make(chan *writeJob, maxBatch),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	var once sync.Once
	w.close = func() {
		once.Do(func() { close(w.quit) })
		<-w.done
	}
	go w.run()
	return w
}

// do queues fn and waits until its transaction is committed or fails.
func (w *writer) do(ctx context.Context, fn func(tx *Tx) error) error {
	job := &writeJob{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case w.jobs <- job:
	case <-w.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the job may
	// already be committed, and the caller must not be told otherwise.
	return <-job.err
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case job := <-w.jobs:
			batch = append(batch, job)
		case <-w.quit:
			// Commit what was queued before Close, then stop.
			for {
				select {
				case job := <-w.jobs:
					w.commit(append(batch[:0], job))
					continue
				default:
				}
				return
			}
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case job := <-w.jobs:
				batch = append(batch, job)
			default:
				break drain
			}
		}
		w.commit(batch)
	}
}

// commit runs a batch in one transaction and reports to each caller.
func (w *writer) commit(batch []*writeJob) {
	errs := make([]error, len(batch))
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range batch {
			j.err <- fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		// The job's context may carry values but not cancellation: once
		// queued, a job runs to the end of its batch.
		errs[i] = w.runOne(&Tx{tx: tx, ctx: context.WithoutCancel(j.ctx), w: w}, j)
	}
	if err := tx.Commit(); err != nil {
		for _, j := range batch {
			j.err <- fmt.Errorf("store: commit: %w", err)
		}
		return
	}
	for i, j := range batch {
		j.err <- errs[i]
	}
	w.prepare()
}

// prepare prepares the statements the last batch ran unprepared. Only
// statements with parameters are kept: they are the repeated ones.
func (w *writer) prepare() {
	for q := range w.unprepared {
		delete(w.unprepared, q)
		if !strings.Contains(q, "$") && !strings.HasPrefix(q, "SAVEPOINT") && !strings.HasPrefix(q, "RELEASE") && !strings.HasPrefix(q, "ROLLBACK") {
			continue
		}
		if st, err := w.db.Prepare(q); err == nil {
			w.stmts[q] = st
		}
	}
}

// runOne runs one job inside a savepoint that is rolled back if the job
// fails, so the other jobs of the batch still commit. (A transaction that
// changed nothing commits without writing.)
func (w *writer) runOne(tx *Tx, j *writeJob) (err error) {
	defer func() {
		if r := recover(); r != nil {
			tx.exec(`ROLLBACK TO job`)
			tx.exec(`RELEASE job`)
			err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	if _, err := tx.exec(`SAVEPOINT job`); err != nil {
		return err
	}
	if err := j.fn(tx); err != nil {
		if _, rerr := tx.exec(`ROLLBACK TO job`); rerr != nil {
			return errors.Join(err, rerr)
		}
		tx.exec(`RELEASE job`)
		return err
	}
	_, err = tx.exec(`RELEASE job`)
	return err
}
