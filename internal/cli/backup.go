package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadcap/leadcap/internal/backup"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

const backupUsage = `backup create|list|verify KEY|prune [flags]

  create       take a backup now: every table in one snapshot, compressed and
               sealed with the key ring into one object under backups/
  list         the backups in the object store, newest first
  verify KEY   read a backup whole without restoring it: open, decompress,
               and check its row counts and sha256 against its manifest
  prune        remove the backups older than LEADCAP_BACKUP_RETENTION, and
               the erasure records (erasures/) no backup left needs (the
               server does this after each scheduled backup)

leadcap serve takes a backup every LEADCAP_BACKUP_INTERVAL. Restore one
with 'leadcap restore'. Backups are sealed with the key file (keys.json),
which is not in them: keep a copy of it apart from the object store.`

func runBackup(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "backup", backupUsage)
	c := addCommon(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errUsage
	}
	verb, rest := pos[0], pos[1:]
	if want, known := map[string]int{"create": 0, "list": 0, "verify": 1, "prune": 0}[verb]; !known {
		return fmt.Errorf("backup: unknown verb %q (want create, list, verify or prune)", verb)
	} else if len(rest) != want {
		if verb == "verify" {
			return errors.New("backup verify: want one backup key (see leadcap backup list)")
		}
		return fmt.Errorf("backup %s: unexpected argument %q", verb, rest[0])
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err
	}
	defer objects.Close()
	svc := &backup.Service{Blob: objects, Log: slog.New(slog.NewTextHandler(env.Stderr, nil))}
	if verb == "create" || verb == "prune" {
		st, err := openMigrated(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		svc.Store = st
	}
	if svc.Keys, err = backupKeys(cfg); err != nil {
		return err
	}

	switch verb {
	case "create":
		return backupCreate(ctx, env, svc, c.json)
	case "list":
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		if c.json {
			return printJSONList(env.Stdout, list)
		}
		printBackups(env.Stdout, list)
		return nil
	case "verify":
		return backupVerify(ctx, env, svc, rest[0], c.json)
	case "prune":
		before := time.Now().Add(-cfg.BackupRetention)
		removed, err := svc.Prune(ctx, before, backup.ActorCLI)
		var records int
		if err == nil {
			records, err = svc.PruneErasures(ctx, before)
		}
		if c.json {
			if removed == nil {
				removed = []string{}
			}
			if jerr := printJSON(env.Stdout, map[string]any{"removed": removed, "erasure_records_removed": records}); jerr != nil {
				return jerr
			}
		} else {
			for _, k := range removed {
				fmt.Fprintf(env.Stdout, "removed %s\n", k)
			}
			fmt.Fprintf(env.Stdout, "%d %s older than %s removed, and %d erasure %s that no backup left needs\n", len(removed),
				plural(len(removed), "backup", "backups"), cfg.Map()["LEADCAP_BACKUP_RETENTION"], records,
				plural(records, "record", "records"))
		}
		return err
	}
	return nil
}

// backupKeys loads the key ring the backups are sealed with; unlike other
// commands, a missing key file is an error, not a new key ring.
func backupKeys(cfg config.Config) (*crypto.KeyRing, error) {
	keys, err := crypto.Load(cfg.DataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no key file %s: backups are sealed with the key ring of the data directory that took them; put a copy of its %s there",
			filepath.Join(cfg.DataDir, crypto.KeyFileName), crypto.KeyFileName)
	}
	return keys, err
}

func backupCreate(ctx context.Context, env *Env, svc *backup.Service, asJSON bool) error {
	bar := newProgressBar(env.Stderr, "rows")
	opts := backup.CreateOptions{Actor: backup.ActorCLI}
	if bar.on {
		opts.Progress = bar.update
	}
	start := time.Now()
	m, err := svc.Create(ctx, opts)
	bar.done()
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, m)
	}
	fmt.Fprintf(env.Stdout, "backup %s taken in %s: %d rows in %d tables, %s, sha256 %s\n", m.Key,
		time.Since(start).Round(time.Millisecond), m.Rows, len(m.Tables), humanBytes(m.Bytes), m.SHA256)
	printCounts(env.Stdout, m.Tables)
	return nil
}

func printBackups(w io.Writer, list []backup.Entry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TAKEN\tSIZE\tROWS\tDATABASE\tSCHEMA\tKEY")
	for _, e := range list {
		if e.Problem != "" {
			fmt.Fprintf(tw, "%s\t%s\t?\t?\t?\t%s\n", e.TakenAt.Local().Format(time.DateTime), humanBytes(e.Bytes), e.Key)
			fmt.Fprintf(tw, "  unreadable: %s\t\t\t\t\t\n", e.Problem)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", e.TakenAt.Local().Format(time.DateTime), humanBytes(e.Bytes), e.Rows,
			e.Database, e.SchemaVersion, e.Key)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d backups\n", len(list))
}

// printCounts prints the rows of each table that has some, then names the
// empty ones.
func printCounts(w io.Writer, counts []backup.TableCount) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TABLE\tROWS")
	var empty []string
	for _, t := range counts {
		if t.Rows == 0 {
			empty = append(empty, t.Name)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%d\n", t.Name, t.Rows)
	}
	tw.Flush()
	if len(empty) > 0 {
		fmt.Fprintf(w, "  and %d empty: %s\n", len(empty), strings.Join(empty, ", "))
	}
}

func backupVerify(ctx context.Context, env *Env, svc *backup.Service, key string, asJSON bool) error {
	m, err := svc.Manifest(ctx, key)
	if err != nil {
		return err
	}
	bar := newProgressBar(env.Stderr, "rows")
	opts := backup.ReadOptions{}
	if bar.on {
		opts.Progress = bar.update
	}
	checked, err := svc.Verify(ctx, m, opts)
	bar.done()
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, checked)
	}
	fmt.Fprintf(env.Stdout, "backup %s is sound: taken %s from %s (schema %d); %d rows in %d tables as its manifest says; %s, sha256 %s\n",
		m.Key, m.TakenAt.Format(time.RFC3339), m.Database, m.SchemaVersion, checked.Rows, len(checked.Tables),
		humanBytes(m.Bytes), m.SHA256)
	printCounts(env.Stdout, checked.Tables)
	return nil
}

const restoreUsage = `restore --at TIME [--from KEY] --to-data-dir DIR | --to-database-url URL [flags]

  Restores the newest backup taken at or before TIME (RFC 3339, e.g.
  2026-11-26T10:30:00Z), or the backup KEY, into a new database: a SQLite
  database in DIR (with a copy of the key file), or the empty PostgreSQL
  database at URL. The target must be empty; the database in use is never
  touched. The leads erased since the backup was taken (their erasure
  records under erasures/ in the object store) are erased again in the
  target. Point in time means the backup interval: for finer points, take
  backups more often (LEADCAP_BACKUP_INTERVAL).

  The backups and the key file are those of the data directory and object
  store configured as usual (--data-dir, LEADCAP_BLOB_URL). When the restore
  is done, point leadcap at the restored database.`

func runRestore(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "restore", restoreUsage)
	c := addCommon(fs)
	at := fs.String("at", "", "restore the newest backup taken at or before this time (RFC 3339)")
	from := fs.String("from", "", "restore this backup (a key from leadcap backup list)")
	toDir := fs.String("to-data-dir", "", "restore into a new SQLite database in this directory")
	toURL := fs.String("to-database-url", "", "restore into this empty PostgreSQL database (postgres://...)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("restore: unexpected argument %q", pos[0])
	}
	var when time.Time
	if *at != "" {
		if when, err = time.Parse(time.RFC3339Nano, *at); err != nil {
			return fmt.Errorf("restore: --at: want a time like 2026-11-26T10:30:00Z, got %q", *at)
		}
	} else if *from == "" {
		fs.Usage()
		return errors.New("restore: --at TIME or --from KEY is required")
	}
	if (*toDir == "") == (*toURL == "") {
		fs.Usage()
		return errors.New("restore: give one target: --to-data-dir DIR (SQLite) or --to-database-url URL (PostgreSQL)")
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	target, shown, err := restoreTarget(cfg, *toDir, *toURL)
	if err != nil {
		return err
	}
	keys, err := backupKeys(cfg)
	if err != nil {
		return err
	}
	if *toDir != "" {
		if err := checkKeyCopy(cfg.DataDir, *toDir); err != nil {
			return err
		}
	}
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err
	}
	defer objects.Close()
	svc := &backup.Service{Blob: objects, Keys: keys}

	var m *backup.Manifest
	if *from != "" {
		m, err = svc.Manifest(ctx, *from)
		if err == nil && !when.IsZero() && m.TakenAt.After(when) {
			err = fmt.Errorf("restore: backup %s was taken at %s, after --at %s", m.Key,
				m.TakenAt.Format(time.RFC3339Nano), when.Format(time.RFC3339Nano))
		}
	} else {
		m, err = svc.Find(ctx, when)
	}
	if err != nil {
		return err
	}

	if *toDir != "" {
		if err := os.MkdirAll(*toDir, 0o700); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	st, err := store.Open(ctx, target, store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		return fmt.Errorf("restore: target: %w", err)
	}
	defer st.Close()
	if !c.json {
		fmt.Fprintf(env.Stdout, "restoring %s (taken %s from %s, %d rows) into %s\n", m.Key,
			m.TakenAt.Format(time.RFC3339), m.Database, m.Rows, shown)
	}
	bar := newProgressBar(env.Stderr, "rows")
	opts := backup.ReadOptions{}
	if bar.on {
		opts.Progress = bar.update
	}
	start := time.Now()
	res, err := svc.Restore(ctx, m, st, opts)
	bar.done()
	if err != nil {
		return err
	}
	if *toDir != "" {
		if err := copyKeyFile(cfg.DataDir, *toDir); err != nil {
			return fmt.Errorf("restore: the database is restored, but the key file was not copied: %w", err)
		}
	}
	if c.json {
		return printJSON(env.Stdout, map[string]any{"restored": res, "into": shown, "seconds": time.Since(start).Seconds()})
	}
	fmt.Fprintf(env.Stdout, "restored %d rows in %d tables in %s; every table's count matches the backup\n",
		res.Rows, len(res.Tables), time.Since(start).Round(time.Millisecond))
	printCounts(env.Stdout, res.Tables)
	fmt.Fprintf(env.Stdout, "%d %s erased since the backup erased again (of %d erasure %s since %s)\n",
		res.ErasuresReapplied, plural(res.ErasuresReapplied, "lead", "leads"), res.ErasureRecords,
		plural(res.ErasureRecords, "record", "records"), m.TakenAt.Add(-erasure.Slack).Format(time.RFC3339))
	fmt.Fprintln(env.Stdout, "\nTo run leadcap on it, stop the servers and start them with:")
	if *toDir != "" {
		fmt.Fprintf(env.Stdout, "  LEADCAP_DATA_DIR=%s   (the key file is copied there)\n", *toDir)
	} else {
		fmt.Fprintf(env.Stdout, "  LEADCAP_DATABASE_URL=%s\n", shown)
	}
	fmt.Fprintf(env.Stdout, "  LEADCAP_BLOB_URL=file://%s   (the object store: raw copies, exports, QR codes, backups)\n",
		absPath(cfg.BlobDir()))
	return nil
}

// restoreTarget returns the database to restore into and how to show it,
// refusing the database in use.
func restoreTarget(cfg config.Config, dir, dbURL string) (dsn, shown string, err error) {
	if dir != "" {
		path := filepath.Join(dir, "leadcap.db")
		if absPath(dir) == absPath(cfg.DataDir) || (cfg.DatabaseURL == "" && absPath(path) == absPath(cfg.DatabaseDSN())) {
			return "", "", fmt.Errorf("restore: %s is the data directory in use: restore into a new directory", dir)
		}
		return path, "SQLite " + path, nil
	}
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		return "", "", errors.New("restore: --to-database-url: want a postgres:// URL")
	}
	u, perr := url.Parse(dbURL)
	if perr != nil {
		return "", "", errors.New("restore: --to-database-url: not a URL")
	}
	if dbURL == cfg.DatabaseURL {
		return "", "", errors.New("restore: --to-database-url is the database in use (LEADCAP_DATABASE_URL): restore into a new, empty database")
	}
	return dbURL, u.Redacted(), nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// checkKeyCopy refuses a target directory whose key file differs from the
// data directory's: the restored rows open only with the keys that sealed
// them.
func checkKeyCopy(dataDir, dir string) error {
	have, err := os.ReadFile(filepath.Join(dir, crypto.KeyFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	want, err := os.ReadFile(filepath.Join(dataDir, crypto.KeyFileName))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if !bytes.Equal(have, want) {
		return fmt.Errorf("restore: %s holds other keys than %s: the restored leads would not open with them; restore into a new directory",
			filepath.Join(dir, crypto.KeyFileName), filepath.Join(dataDir, crypto.KeyFileName))
	}
	return nil
}

// copyKeyFile puts the data directory's key file into dir (mode 0600),
// unless the same one is there.
func copyKeyFile(dataDir, dir string) error {
	dst := filepath.Join(dir, crypto.KeyFileName)
	if _, err := os.Stat(dst); err == nil {
		return nil // checkKeyCopy found it the same
	}
	b, err := os.ReadFile(filepath.Join(dataDir, crypto.KeyFileName))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
