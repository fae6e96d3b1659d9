// Package store keeps leadcap's relational data: conferences, leads and their
// submissions, and the outbox. It runs on SQLite (the embedded default, one
// file in the data directory) and on PostgreSQL (for several servers sharing
// one database). Both run the same SQL, written with $N placeholders, and the
// same test suite; only the migrations differ per dialect.
//
// Personal fields are sealed (encrypted) with a Sealer before they reach the
// database; the store never writes them in clear text.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/leadcap/leadcap"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrationsFS embed.FS

// Sealer encrypts and decrypts personal data and computes blind indexes.
// internal/crypto's KeyRing is the implementation.
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(ciphertext, associatedData []byte) ([]byte, error)
	BlindIndex(kind, value string) []byte
}

// pgCommitters is how many PostgreSQL transactions commit groups of writes
// at once from one server.
const pgCommitters = 4

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options configure Open.
type Options struct {
	Sealer Sealer
	// Merge combines a stored lead with a new submission for the same email;
	// intake.MergeLead is the rule.
	Merge func(existing, incoming *leadcap.Lead) *leadcap.Lead
	// Now returns the current time; tests fix it. Default time.Now.
	Now func() time.Time
}

// Store is leadcap's database. It is safe for concurrent use.
type Store struct {
	dialect string
	path    string  // SQLite file, empty for PostgreSQL
	db      *sql.DB // reads; on PostgreSQL also writes
	wdb     *sql.DB // SQLite only: the single write connection
	cdb     *sql.DB // SQLite only: the checkpointer's connection
	writer  *writer // SQLite only: group commit
	// SQLite only: the database file, which the checkpointer syncs before
	// the WAL starts over (see checkpointer). It stays open until every connection is closed: closing a
	// descriptor drops the process's POSIX locks on the file, SQLite's
	// included.
	dbFile *os.File

	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
	sealer          Sealer
	merge           func(existing, incoming *leadcap.Lead) *leadcap.Lead
	now             func() time.Time
	leadIDs         leadIDs
	bursts          burstMeter // lead captures, for Burst
}

// Open connects to the database named by dsn: a postgres:// or postgresql://
// URL, or a SQLite file path (optionally prefixed with sqlite:). It does not
// migrate; call Migrate, then CheckSchema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Sealer == nil {
		return nil, errors.New("store: open: no sealer")
	}
	s := &Store{sealer: opts.Sealer, merge: opts.Merge, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.merge == nil {
		s.merge = func(_, incoming *leadcap.Lead) *leadcap.Lead { return incoming }
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(32)
		s.db.SetMaxIdleConns(32)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
		// Writes go through a few committers, each batching whatever is
		// queued into one transaction: one WAL flush for many leads.
		// pgx caches prepared statements per connection by itself.
		s.writer = newWriter(s.db, pgCommitters, false)
	} else {
		s.dialect = SQLite
		if err := s.openSQLite(strings.TrimPrefix(dsn, "sqlite:")); err != nil {
			return nil, err
		}
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", s.dialect, err)
	}
	return s, nil
}

// cacheKiB is the page cache of a SQLite reading connection, in KiB:
// 32 MB. (A scan makes it smaller for its time: see scanConn.)
const cacheKiB = 32000

// writerCacheKiB is the page cache of the write connection, in KiB: 8 MB,
// room for the pages a full batch of leads dirties (about three a lead,
// 1,500 for maxBatch) so that a batch never spills to the WAL before its
// commit. Not more: SQLite walks its cache's hash table at the end of
// every write transaction, so each commit costs in proportion to the
// cache. With 32 MB that walk took 9% of the writer's time, and 8 MB took
// the ingest benchmark from 9,300 to 9,700 leads/s at 64 clients (four
// alternating pairs; docs/PERFORMANCE.md).
const writerCacheKiB = 8000

// sqliteDSN returns the modernc.org/sqlite DSN for path: WAL, full fsync on
// commit, a busy timeout so the CLI can write while a server runs, foreign
// keys, immediate write transactions, and a page cache of cache KiB.
func sqliteDSN(path string, readOnly bool, cache int) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cache))
	// Statement journals in memory: a statement inside a batch's
	// transaction that may have to be undone keeps its journal here, where
	// a temporary file would cost system calls per lead.
	q.Add("_pragma", "temp_store(MEMORY)")
	// The checkpointer moves the WAL into the database file on its own
	// connection, off the writer's path (see checkpointer).
	q.Add("_pragma", "wal_autocheckpoint(0)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func (s *Store) openSQLite(path string) error {
	if path == "" {
		return errors.New("store: open sqlite: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	s.path = path
	var err error
	// The write connection is opened first so that it creates the file
	// and switches it to WAL before any reader looks at it.
	if s.wdb, err = sql.Open("sqlite", sqliteDSN(path, false, writerCacheKiB)); err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.wdb.Ping(); err != nil {
		s.wdb.Close()
		return fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		s.wdb.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	if s.db, err = sql.Open("sqlite", sqliteDSN(path, true, cacheKiB)); err != nil {
		s.wdb.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	s.db.SetMaxOpenConns(8)
	s.db.SetMaxIdleConns(8)
	s.writer = newWriter(s.wdb, 1, true)
	if s.cdb, err = sql.Open("sqlite", sqliteDSN(path, false, cacheKiB)); err != nil {
		s.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	s.cdb.SetMaxOpenConns(1)
	if s.dbFile, err = os.Open(path); err != nil {
		s.Close()
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	s.stopCheckpoints = make(chan struct{})
	s.checkpointsDone = make(chan struct{})
	go s.checkpointer()
	return nil
}

// checkpointer copies the WAL into the database file whenever it has grown
// past a few megabytes. A passive checkpoint waits for no one, so the writer
// keeps committing meanwhile. But SQLite starts the WAL over from its
// beginning only after a checkpoint has caught up with it, which a
// checkpoint running beside a busy writer never does: under steady load the
// WAL would grow without end (660 MB after ten seconds at 5,000 leads/s),
// and with it the disk it takes and the time a restart after a crash spends
// reading it. So once the WAL holds more than walRestartFrames, the
// checkpointer runs passes back to back, each copying what was committed
// during the one before, until at most catchUpFrames are left, and then
// asks the writer to copy those between two of its batches, after which
// the next batch writes the WAL from its beginning.
//
// SQLite syncs the database file only in the checkpoint that catches up,
// which leaves that one, the writer's, to flush everything the passes
// wrote since the WAL last started over: hundreds of megabytes under load,
// 24 to 78 ms in which no lead is committed, which was most of the ingest
// benchmark's p99. So once the WAL is due to start over the checkpointer
// syncs the file itself, after each pass that copied pages, and runs
// another pass for what was committed meanwhile; the writer's sync has
// only the last few pages left (1 to 11 ms). Syncing after every pass
// instead flattens the tail no further and writes 15% more, as pages that
// change again are written again.
func (s *Store) checkpointer() {
	defer close(s.checkpointsDone)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	lastCopied := -1
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
		}
		if fi, err := os.Stat(s.path + "-wal"); err != nil || fi.Size() < 4<<20 {
			continue
		}
		for range 4 {
			busy, frames, copied, err := s.checkpointPass()
			if err != nil {
				break
			}
			if frames >= walRestartFrames && copied != lastCopied {
				lastCopied = copied
				// A failed sync fails SQLite's own in the checkpoint that
				// would catch up too, and the WAL, with every lead in it,
				// is kept until one succeeds.
				if s.dbFile.Sync() != nil {
					break
				}
				// Copy what was committed during the sync, so that the
				// writer is left with as little as possible.
				if busy, frames, copied, err = s.checkpointPass(); err != nil {
					break
				}
			}
			if frames < walRestartFrames || busy != 0 {
				break
			}
			if frames-copied <= catchUpFrames {
				s.writer.checkpoint.Store(true)
				break
			}
		}
	}
}

// checkpointPass runs one passive checkpoint and returns SQLite's answer:
// whether it was blocked, the frames in the WAL, and how many of them are
// in the database file.
func (s *Store) checkpointPass() (busy, frames, copied int, err error) {
	err = s.cdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
	return busy, frames, copied, err
}

// The WAL starts over once it holds walRestartFrames pages (512 MB of
// 4 KiB pages), and the writer finishes a checkpoint only when at most
// catchUpFrames are left for it to copy. Each restart costs the writer a
// pause and the disk a burst of checkpoint writes, which showed in the
// ingest benchmark's p99 when the WAL started over at 16 or 128 MB (21-24
// ms became 30-50 ms at 64 clients); at 512 MB a ten-second burst never
// reaches it, and steady full load (about 80 MB of WAL a second on the
// benchmark machine) meets it every six seconds or so.
var walRestartFrames = 131072

const catchUpFrames = 256

// Dialect returns SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// Path returns the SQLite database file, or "" on PostgreSQL.
func (s *Store) Path() string { return s.path }

// Close stops the writer after it commits what it has queued, then closes
// the connections.
func (s *Store) Close() error {
	if s.writer != nil {
		s.writer.close()
	}
	if s.stopCheckpoints != nil {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
	}
	var errs []error
	if s.cdb != nil {
		// Leave a small WAL behind: everything committed moves into the
		// database file.
		s.cdb.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		errs = append(errs, s.cdb.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.dbFile != nil {
		errs = append(errs, s.dbFile.Close())
	}
	return errors.Join(errs...)
}

// write runs fn in a write transaction through the writer, which commits
// many callers' transactions together. fn may be run again (when another
// job of its batch fails, or on a conflict with another server), so it must
// not have effects outside tx. write returns once the transaction is
// durably committed.
func (s *Store) write(ctx context.Context, fn func(tx *Tx) error) error {
	return s.writer.do(ctx, fn)
}

// read runs fn in a read-only transaction, so that it sees one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(&Tx{tx: tx, ctx: ctx})
}

// Micros converts t to the Unix microseconds stored in the database.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros converts stored Unix microseconds to a UTC time.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// SizeBytes returns the size of the database: the SQLite file and its WAL,
// or pg_database_size on PostgreSQL.
func (s *Store) SizeBytes(ctx context.Context) (int64, error) {
	if s.dialect == Postgres {
		var n int64
		err := s.db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
		return n, err
	}
	var total int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return total, nil
}

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: bad migration file name %s", e.Name())
		}
		b, err := fs.ReadFile(migrationsFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion returns the highest migration applied to the database (0 for
// an empty one) and the highest this build knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, known int, err error) {
	ms, err := s.migrations()
	if err != nil {
		return 0, 0, err
	}
	known = ms[len(ms)-1].version
	current, err = s.currentVersion(ctx, dbQueryer{s.db})
	return current, known, err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) row
}

// dbQueryer adapts a *sql.DB to queryer.
type dbQueryer struct{ db *sql.DB }

func (q dbQueryer) QueryRowContext(ctx context.Context, query string, args ...any) row {
	return q.db.QueryRowContext(ctx, query, args...)
}

func (s *Store) currentVersion(ctx context.Context, q queryer) (int, error) {
	var exists bool
	var err error
	if s.dialect == Postgres {
		err = q.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	} else {
		err = q.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
	}
	if err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, and returns the names of those applied. It refuses a database
// whose schema is newer than this build.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	return s.MigrateTo(ctx, math.MaxInt)
}

// MigrateTo is Migrate that stops after the migrations up to version: a
// restore loads a backup's rows into the schema they were taken from.
func (s *Store) MigrateTo(ctx context.Context, version int) ([]string, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		if m.version > version {
			break
		}
		done := false
		err := s.write(ctx, func(tx *Tx) error {
			done = false // the writer may run this again
			if s.dialect == Postgres {
				// One migrator at a time when several servers start together.
				if _, err := tx.exec(`SELECT pg_advisory_xact_lock(7355608)`); err != nil {
					return err
				}
			}
			if _, err := tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			cur, err := s.currentVersion(ctx, tx)
			if err != nil {
				return err
			}
			if cur > ms[len(ms)-1].version {
				return fmt.Errorf("database schema version %d is newer than this leadcap knows (%d): upgrade leadcap", cur, ms[len(ms)-1].version)
			}
			if m.version <= cur {
				return nil
			}
			// Not through the statement cache: a migration is many statements.
			if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, micros(s.now())); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("store: migrate: %w", err)
		}
		if done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// CheckSchema returns an error unless the database schema is exactly the one
// this build knows: the server refuses to run on an older or newer schema.
func (s *Store) CheckSchema(ctx context.Context) error {
	cur, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case cur < known:
		return fmt.Errorf("store: database schema version %d is older than %d: run 'leadcap migrate'", cur, known)
	case cur > known:
		return fmt.Errorf("store: database schema version %d is newer than this leadcap knows (%d): upgrade leadcap", cur, known)
	}
	return nil
}

// ExecForTest runs a statement directly; tests use it to tamper with data.
func (s *Store) ExecForTest(ctx context.Context, query string, args ...any) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(query, args...)
		return err
	})
}

// CheckWritable takes the write lock in a transaction that changes nothing:
// it fails on a read-only or locked-up database.
func (s *Store) CheckWritable(ctx context.Context) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`UPDATE schema_migrations SET applied_at = applied_at WHERE version < 0`)
		return err
	})
}
