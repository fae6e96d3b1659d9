// Package backup takes backups of leadcap's database and restores them:
// each backup is one consistent snapshot of every table, in a format that
// names no dialect (a SQLite backup restores onto PostgreSQL and back),
// compressed with gzip and sealed with the key ring into one object of the
// object store:
//
//	backups/YYYY-MM-DD/<taken>-<id>.lcbackup            the rows (see format.go)
//	backups/YYYY-MM-DD/<taken>-<id>.lcbackup.manifest   what they are (Manifest), sealed
//
// <taken> is the time of the snapshot in UTC (20261126T103000.123Z). The
// manifest lists the row count of each table and the SHA-256 of the stored
// object, so that Verify can check a backup without restoring it, and List
// can show backups without reading them.
//
// A restore goes into a new, empty database, never over the one in use:
// point-in-time means the newest backup taken at or before the time asked
// for, so the backup interval is the granularity.
package backup

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/store"
)

// Prefix is where backups live in the object store.
const Prefix = "backups/"

const (
	ext         = ".lcbackup"
	manifestExt = ".manifest"
	// takenLayout is the time in a backup's key: UTC, to the millisecond,
	// so that keys sort by time.
	takenLayout = "20060102T150405.000Z"
)

// Audit actions of backups.
const (
	AuditCreate  = "backup.create"  // a backup was taken (or failed)
	AuditRestore = "backup.restore" // recorded in the restored database
	AuditExpire  = "backup.expire"  // a backup older than the retention was removed
)

// Actors that are not users.
const (
	ActorCLI    = "cli"
	ActorSystem = "system"
)

// ErrDamaged means a backup does not read back as it was written: changed,
// cut short, sealed with other keys, or without its manifest.
var ErrDamaged = errors.New("backup is damaged")

// ErrNotFound means no backup matches.
var ErrNotFound = errors.New("no such backup")

// Manifest describes one backup; it is stored sealed beside it.
type Manifest struct {
	Key            string       `json:"key"`
	ID             string       `json:"id"`
	TakenAt        time.Time    `json:"taken_at"`
	SchemaVersion  int          `json:"schema_version"`
	Database       string       `json:"database"` // the dialect it was taken from
	LeadcapVersion string       `json:"leadcap_version"`
	Tables         []TableCount `json:"tables"`
	Rows           int64        `json:"rows"`
	Bytes          int64        `json:"bytes"`  // size of the stored object
	SHA256         string       `json:"sha256"` // hex SHA-256 of the stored object
}

// Entry is one backup as List finds it. Problem says why its manifest
// could not be read; the manifest's fields are then those the key tells.
type Entry struct {
	Manifest
	Problem string `json:"problem,omitempty"`
}

// Service takes, lists, checks, restores and removes backups. Store is the
// database backed up (not needed to read or restore backups).
type Service struct {
	Store *store.Store
	Blob  blob.Store
	Keys  *crypto.KeyRing
	Log   *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ObjectKey is where the backup with id taken at taken is stored.
func ObjectKey(taken time.Time, id string) string {
	t := taken.UTC()
	return Prefix + t.Format(time.DateOnly) + "/" + t.Format(takenLayout) + "-" + id + ext
}

// parseKey reads the time and id of a backup from its key.
func parseKey(key string) (taken time.Time, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return time.Time{}, "", false
	}
	day, name, ok := strings.Cut(rest, "/")
	name, isBackup := strings.CutSuffix(name, ext)
	ts, id, hasID := strings.Cut(name, "-")
	if !ok || !isBackup || !hasID || id == "" || strings.Contains(name, "/") {
		return time.Time{}, "", false
	}
	taken, err := time.Parse(takenLayout, ts)
	if err != nil || taken.Format(time.DateOnly) != day {
		return time.Time{}, "", false
	}
	return taken, id, true
}

// streamName names a backup's sealed stream: its chunks open only as that
// backup's.
func streamName(id string) string { return "backup:" + id }

// manifestAD binds a sealed manifest to its backup's key.
func manifestAD(key string) []byte { return []byte("backup manifest:" + key) }

func newID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("backup: id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// CreateOptions are the options of Create.
type CreateOptions struct {
	// Actor is who takes the backup, for the audit trail: ActorCLI or
	// ActorSystem.
	Actor string
	// Progress, if set, is called with the rows written and the rows in all.
	Progress func(done, total int64)
}

// Create takes a backup of every table in one snapshot and stores it, then
// its manifest. A backup that fails leaves nothing behind. The audit trail
// records it.
func (s *Service) Create(ctx context.Context, opts CreateOptions) (*Manifest, error) {
	m, err := s.create(ctx, opts)
	ev := leadcap.AuditEvent{Actor: opts.Actor, Action: AuditCreate, Result: leadcap.AuditSuccess}
	if err != nil {
		ev.Result, ev.Detail = leadcap.AuditFailure, map[string]string{"error": err.Error()}
		if aerr := s.Store.AppendAudit(context.WithoutCancel(ctx), ev); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, err
	}
	ev.Target = "backup:" + m.Key
	ev.Detail = map[string]string{"rows": fmt.Sprint(m.Rows), "bytes": fmt.Sprint(m.Bytes), "sha256": m.SHA256,
		"schema_version": fmt.Sprint(m.SchemaVersion)}
	if err := s.Store.AppendAudit(ctx, ev); err != nil {
		return m, fmt.Errorf("backup: audit: %w", err)
	}
	return m, nil
}

func (s *Service) create(ctx context.Context, opts CreateOptions) (*Manifest, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	var m *Manifest
	err = s.Store.ReadSnapshot(ctx, func(sn *store.Snapshot) error {
		// The snapshot is fixed by now, so every row in it was committed
		// before this time (rounded up to the millisecond the key holds):
		// a restore "at" it holds nothing newer.
		taken := s.now().UTC()
		if t := taken.Truncate(time.Millisecond); !t.Equal(taken) {
			taken = t.Add(time.Millisecond)
		}
		m = &Manifest{Key: ObjectKey(taken, id), ID: id, TakenAt: taken, SchemaVersion: sn.Version,
			Database: s.Store.Dialect(), LeadcapVersion: leadcap.Version}
		counts := make([]TableCount, len(sn.Tables))
		for i, t := range sn.Tables {
			n, err := sn.Count(t.Name)
			if err != nil {
				return err
			}
			counts[i] = TableCount{Name: t.Name, Rows: n}
			m.Rows += n
		}
		m.Tables = counts
		h := &Header{Format: FormatVersion, ID: id, TakenAt: taken, SchemaVersion: sn.Version,
			Database: m.Database, LeadcapVersion: m.LeadcapVersion, Tables: sn.Tables}
		return s.put(ctx, m.Key, func(w io.Writer) error {
			return write(w, s.Keys, h, sn, counts, opts.Progress, m.Rows)
		}, &m.Bytes, &m.SHA256)
	})
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := s.putManifest(ctx, m); err != nil {
		if _, perr := s.Blob.Purge(context.WithoutCancel(ctx), m.Key); perr != nil {
			err = errors.Join(err, perr)
		}
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// put stores what fill writes as key, measuring and hashing the stored
// bytes. If fill fails, nothing is stored.
func (s *Service) put(ctx context.Context, key string, fill func(io.Writer) error, size *int64, sum *string) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Blob.Put(ctx, key, pr)
		pr.CloseWithError(err)
		done <- err
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(pw, h)}
	if err := fill(cw); err != nil {
		pw.CloseWithError(err)
		<-done // the aborted Put stores nothing
		return err
	}
	pw.Close()
	if err := <-done; err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	*size, *sum = cw.n, hex.EncodeToString(h.Sum(nil))
	return nil
}

// write writes the backup of the snapshot into w: the plaintext format,
// gzipped, sealed.
func write(w io.Writer, keys *crypto.KeyRing, h *Header, sn *store.Snapshot, counts []TableCount,
	progress func(done, total int64), total int64) error {
	sw, err := crypto.NewSealWriter(w, keys, streamName(h.ID))
	if err != nil {
		return err
	}
	// Most of the bytes are sealed personal data, which no level of
	// compression shrinks: the fastest level costs the least CPU.
	gz, err := gzip.NewWriterLevel(sw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	enc := newEncoder(gz)
	if err := enc.header(h); err != nil {
		return err
	}
	var done int64
	for i, t := range sn.Tables {
		var n int64
		err := sn.Rows(t, func(values []any) error {
			n++
			done++
			if progress != nil && done%1024 == 0 {
				progress(done, total)
			}
			return enc.row(values)
		})
		if err != nil {
			return err
		}
		if n != counts[i].Rows {
			return fmt.Errorf("table %s: read %d rows of %d counted in the same snapshot", t.Name, n, counts[i].Rows)
		}
		if err := enc.endTable(); err != nil {
			return err
		}
	}
	if progress != nil {
		progress(done, total)
	}
	if err := enc.trailer(counts); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return sw.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (s *Service) putManifest(ctx context.Context, m *Manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sealed, err := s.Keys.Seal(b, manifestAD(m.Key))
	if err != nil {
		return fmt.Errorf("seal manifest: %w", err)
	}
	if _, err := s.Blob.Put(ctx, m.Key+manifestExt, strings.NewReader(string(sealed))); err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	return nil
}

// Manifest reads and opens the manifest of the backup at key.
func (s *Service) Manifest(ctx context.Context, key string) (*Manifest, error) {
	if _, _, ok := parseKey(key); !ok {
		return nil, fmt.Errorf("backup: %q is not a backup's key (backups/YYYY-MM-DD/<time>-<id>%s; see leadcap backup list)", key, ext)
	}
	r, _, err := s.Blob.Get(ctx, key+manifestExt)
	if errors.Is(err, blob.ErrNotFound) {
		if _, serr := s.Blob.Stat(ctx, key); errors.Is(serr, blob.ErrNotFound) {
			return nil, fmt.Errorf("backup: %w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("backup: %w: %s has no manifest", ErrDamaged, key)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer r.Close()
	sealed, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("backup: read manifest of %s: %w", key, err)
	}
	b, err := s.Keys.Open(sealed, manifestAD(key))
	if err != nil {
		return nil, fmt.Errorf("backup: %w: the manifest of %s does not open (changed, or sealed with other keys)", ErrDamaged, key)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Key != key {
		return nil, fmt.Errorf("backup: %w: the manifest of %s is not its own", ErrDamaged, key)
	}
	return &m, nil
}

// keys returns the key of every stored backup with its time, newest first.
func (s *Service) keys(ctx context.Context) ([]blob.Info, error) {
	var out []blob.Info
	err := s.Blob.List(ctx, Prefix, func(i blob.Info) error {
		if taken, _, ok := parseKey(i.Key); ok {
			i.ModTime = taken
			out = append(out, i)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: list: %w", err)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].ModTime.After(out[b].ModTime) })
	return out, nil
}

// List returns every backup, newest first, with its manifest.
func (s *Service) List(ctx context.Context) ([]Entry, error) {
	infos, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(infos))
	for _, i := range infos {
		m, err := s.Manifest(ctx, i.Key)
		if err != nil {
			_, id, _ := parseKey(i.Key)
			out = append(out, Entry{Manifest: Manifest{Key: i.Key, ID: id, TakenAt: i.ModTime, Bytes: i.Size, SHA256: i.SHA256},
				Problem: err.Error()})
			continue
		}
		out = append(out, Entry{Manifest: *m})
	}
	return out, nil
}

// Newest returns the time of the newest backup, and false when there is
// none.
func (s *Service) Newest(ctx context.Context) (time.Time, bool, error) {
	infos, err := s.keys(ctx)
	if err != nil || len(infos) == 0 {
		return time.Time{}, false, err
	}
	return infos[0].ModTime, true, nil
}

// Find returns the manifest of the newest backup taken at or before at.
func (s *Service) Find(ctx context.Context, at time.Time) (*Manifest, error) {
	infos, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	for _, i := range infos {
		if !i.ModTime.After(at) {
			return s.Manifest(ctx, i.Key)
		}
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("backup: %w: there are no backups under %s", ErrNotFound, Prefix)
	}
	const ms = "2006-01-02T15:04:05.000Z07:00"
	oldest := infos[len(infos)-1].ModTime
	return nil, fmt.Errorf("backup: %w taken at or before %s: the oldest is from %s", ErrNotFound,
		at.UTC().Format(ms), oldest.Format(ms))
}

// Checked is what reading a backup through found.
type Checked struct {
	Manifest *Manifest    `json:"manifest"`
	Tables   []TableCount `json:"tables"` // rows read, by table
	Rows     int64        `json:"rows"`
}

// ReadOptions are the options of Verify and Restore.
type ReadOptions struct {
	// Progress, if set, is called with the rows read and the rows in all.
	Progress func(done, total int64)
}

// Verify reads the backup of m without restoring it: it opens every
// sealed chunk, decompresses and decodes every row, and checks the row
// counts and the stored object's size and SHA-256 against the manifest.
// An error wraps ErrDamaged when the backup is not as it was written.
func (s *Service) Verify(ctx context.Context, m *Manifest, opts ReadOptions) (*Checked, error) {
	return s.read(ctx, m, nil, nil, opts.Progress)
}

// read reads the backup of m, calling table before the rows of each table
// and row with each row (either may be nil), and checks it whole against
// its manifest. It returns only once every check has passed.
func (s *Service) read(ctx context.Context, m *Manifest, table func(store.Table) error, row func([]any) error,
	progress func(done, total int64)) (*Checked, error) {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("backup: %w: %s: "+format, append([]any{ErrDamaged, m.Key}, args...)...)
	}
	r, _, err := s.Blob.Get(ctx, m.Key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("backup: %w: %s (its manifest is there, the backup is not)", ErrNotFound, m.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	stored := &countWriter{w: h}
	c := &Checked{Manifest: m}
	err = decode(io.TeeReader(r, stored), s.Keys, m, table, func(values []any) error {
		c.Rows++
		if progress != nil && c.Rows%1024 == 0 {
			progress(c.Rows, m.Rows)
		}
		if row != nil {
			return row(values)
		}
		return nil
	}, &c.Tables)
	if err != nil {
		if errors.Is(err, crypto.ErrStreamCorrupt) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
			errors.Is(err, errFormat) {
			return nil, damaged("it does not read back (changed, cut short, or sealed with other keys): %v", err)
		}
		return nil, err
	}
	if progress != nil {
		progress(c.Rows, m.Rows)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); stored.n != m.Bytes || sum != m.SHA256 {
		return nil, damaged("the stored object has %d bytes and sha256 %s; its manifest says %d bytes, sha256 %s",
			stored.n, sum, m.Bytes, m.SHA256)
	}
	if !slices.Equal(c.Tables, m.Tables) {
		return nil, damaged("its rows (%s) differ from its manifest's (%s)", countsText(c.Tables), countsText(m.Tables))
	}
	return c, nil
}

// decode opens, decompresses and decodes a backup, checking its header
// against m and its trailer against the rows read, which it records in
// tables.
func decode(r io.Reader, keys *crypto.KeyRing, m *Manifest, table func(store.Table) error, row func([]any) error,
	tables *[]TableCount) error {
	sealed := crypto.NewOpenReader(r, keys, streamName(m.ID))
	gz, err := gzip.NewReader(sealed)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: empty", errFormat)
		}
		return err
	}
	gz.Multistream(false)
	dec := newDecoder(gz)
	h, err := dec.header()
	if err != nil {
		return err
	}
	if h.ID != m.ID || !h.TakenAt.Equal(m.TakenAt) || h.SchemaVersion != m.SchemaVersion {
		return fmt.Errorf("%w: its header (id %s, taken %s, schema %d) is not its manifest's", errFormat, h.ID,
			h.TakenAt.Format(time.RFC3339Nano), h.SchemaVersion)
	}
	for _, t := range h.Tables {
		if table != nil {
			if err := table(t); err != nil {
				return err
			}
		}
		var n int64
		for {
			values, err := dec.next(len(t.Columns))
			if err != nil {
				return err
			}
			if values == nil {
				break
			}
			n++
			if err := row(values); err != nil {
				return err
			}
		}
		*tables = append(*tables, TableCount{Name: t.Name, Rows: n})
	}
	tr, err := dec.trailer()
	if err != nil {
		return err
	}
	if !slices.Equal(tr.Tables, *tables) {
		return fmt.Errorf("%w: its trailer counts %s, its rows are %s", errFormat, countsText(tr.Tables), countsText(*tables))
	}
	// The gzip stream ends with its checksum, read at its end; the sealed
	// stream ends with its last chunk, which gzip need not have reached.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return err
	}
	if n, err := io.Copy(io.Discard, sealed); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("%w: %d bytes after the compressed rows", errFormat, n)
		}
		return err
	}
	return gz.Close()
}

func countsText(c []TableCount) string {
	parts := make([]string, len(c))
	for i, t := range c {
		parts[i] = fmt.Sprintf("%s %d", t.Name, t.Rows)
	}
	return strings.Join(parts, ", ")
}
