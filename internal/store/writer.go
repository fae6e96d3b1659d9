package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// maxBatch bounds how many callers' transactions share one commit.
const maxBatch = 512

// errClosed is returned to writes that arrive after Close.
var errClosed = errors.New("store: closed")

// writer commits callers' transactions in groups. Each of its committers
// takes whatever is queued, runs every caller's function inside one
// transaction and commits once, so many concurrent submissions share one
// fsync. It does not wait for a batch to fill: a lone write is committed at
// once. SQLite has one committer on its one write connection; PostgreSQL has
// a few, each with a connection of its own.
type writer struct {
	db      *sql.DB
	prepare bool // keep prepared statements per committer (SQLite)
	jobs    chan *writeJob
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	// checkpoint asks the committer to finish a WAL checkpoint between two
	// batches (SQLite; see Store.checkpointer).
	checkpoint atomic.Bool
}

type writeJob struct {
	ctx context.Context
	fn  func(tx *Tx) error
	err chan error
}

// stmtCache holds one committer's prepared statements. A statement first
// runs unprepared and is prepared between batches, when the connection is
// free.
type stmtCache struct {
	stmts      map[string]*sql.Stmt
	unprepared map[string]bool
}

func newWriter(db *sql.DB, committers int, prepare bool) *writer {
	w := &writer{db: db, prepare: prepare, jobs: make(chan *writeJob, maxBatch), quit: make(chan struct{})}
	for range committers {
		var cache *stmtCache
		if prepare {
			cache = &stmtCache{stmts: map[string]*sql.Stmt{}, unprepared: map[string]bool{}}
		}
		w.wg.Go(func() { w.run(cache) })
	}
	return w
}

// close commits what was queued and stops the committers.
func (w *writer) close() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
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

func (w *writer) run(cache *stmtCache) {
	batch := make([]*writeJob, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case job := <-w.jobs:
			batch = append(batch, job)
		case <-w.quit:
			// Commit what was queued before close, then stop.
			for {
				select {
				case job := <-w.jobs:
					w.commit(cache, append(batch[:0], job))
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
		w.commit(cache, batch)
		if w.checkpoint.Swap(false) {
			// Nothing else writes while this runs, so it copies the few
			// frames committed since the checkpointer's last pass and
			// reaches the end of the WAL: the next batch starts the WAL
			// over from its beginning instead of growing it.
			w.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// commit runs a batch in one transaction and reports to each caller. If
// any job fails, the batch is rolled back and each job runs again in a
// transaction of its own, so that one caller's failure undoes nothing of
// another's. Jobs on the lead path do not fail short of a database error,
// so the common case is one transaction and one fsync for the whole batch.
func (w *writer) commit(cache *stmtCache, batch []*writeJob) {
	defer cache.prepare(w.db)
	if len(batch) > 1 {
		if errs, err := w.runBatch(cache, batch); err == nil {
			for i, j := range batch {
				j.err <- errs[i]
			}
			return
		}
	}
	for _, j := range batch {
		var err error
		for attempt := 0; ; attempt++ {
			var errs []error
			if errs, err = w.runBatch(cache, []*writeJob{j}); err == nil {
				err = errs[0]
			}
			// Another committer's batch (or another server) may hold
			// what this job needs while waiting for what it holds; the
			// database then aborts one of them, which is worth a retry.
			if !transient(err) || attempt == 4 {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
		}
		j.err <- err
	}
}

// transient reports whether err is a deadlock or serialization failure
// that the same transaction may not meet again.
func transient(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// runBatch runs jobs in one transaction. It commits and returns each job's
// outcome when every job succeeded or was cancelled before it started;
// otherwise it rolls back and returns the first error.
func (w *writer) runBatch(cache *stmtCache, batch []*writeJob) ([]error, error) {
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	errs := make([]error, len(batch))
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err // never started: nothing to undo
			continue
		}
		// The job's context may carry values but not cancellation: once
		// started, a job runs to the end of its transaction.
		if err := runJob(&Tx{tx: tx, ctx: context.WithoutCancel(j.ctx), cache: cache}, j); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	return errs, nil
}

// runJob runs one job, turning a panic into an error.
func runJob(tx *Tx, j *writeJob) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	return j.fn(tx)
}

// prepare prepares the statements the last batch ran unprepared. Only
// statements with parameters are kept: they are the repeated ones.
func (c *stmtCache) prepare(db *sql.DB) {
	if c == nil {
		return
	}
	for q := range c.unprepared {
		delete(c.unprepared, q)
		if !strings.Contains(q, "$") {
			continue
		}
		if st, err := db.Prepare(q); err == nil {
			c.stmts[q] = st
		}
	}
}
