package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/export"
)

const exportUsage = `export --format csv|json|ndjson|xlsx --out FILE|- [flags]

  Writes the leads to FILE (mode 0600; - for standard output), checking the
  row count against the database at the end. Leads captured after the
  export starts are left for the next one. A progress bar shows on a
  terminal.`

func runExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export", exportUsage)
	c := addCommon(fs)
	var req export.Request
	var out string
	fs.StringVar(&req.Format, "format", "", "csv, json, ndjson or xlsx")
	fs.StringVar(&req.Conference, "conference", "", "slug or id of the conference (default: every conference)")
	fs.StringVar(&req.Since, "since", "", "leads created from this date (YYYY-MM-DD, in the conference's time zone) or time (RFC 3339)")
	fs.StringVar(&req.Until, "until", "", "leads created up to and including this date, or before this time")
	fs.StringVar(&req.Columns, "columns", "leadcap", "column preset: leadcap (every field), hubspot or salesforce")
	fs.BoolVar(&req.IncludeSpam, "include-spam", false, "include leads kept as suspected spam")
	fs.BoolVar(&req.BOM, "bom", false, "CSV only: start with a UTF-8 byte order mark, for Excel")
	fs.StringVar(&out, "out", "", "file to write, or - for standard output")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("export: unexpected argument %q", pos[0])
	}
	if out == "" {
		fs.Usage()
		return fmt.Errorf("export: --out is required (a file, or - for standard output)")
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	plan, err := export.NewPlan(ctx, st, req, time.Now())
	if err != nil {
		return err
	}
	tmp, err := privateTemp(cfg)
	if err != nil {
		return err
	}
	x := &export.Exporter{Store: st, Auditor: export.StoreAuditor{Store: st}, TempDir: tmp}

	w, commit, abort, err := openOut(env, out)
	if err != nil {
		return err
	}
	bar := newProgressBar(env.Stderr, "leads")
	opts := export.WriteOptions{Actor: export.Actor{Name: export.ActorCLI}}
	if bar.on {
		opts.Progress = bar.update
	}
	// An export makes much short-lived garbage over a small live heap:
	// collecting half as often saves some of its CPU for a few MB.
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	start := time.Now()
	res, err := x.Write(ctx, w, plan, opts)
	bar.done()
	if err == nil {
		err = commit()
	}
	if err != nil {
		abort()
		return err
	}
	took := time.Since(start)
	summary := map[string]any{"rows": res.Rows, "bytes": res.Bytes, "sha256": res.SHA256, "file": out,
		"seconds": took.Seconds()}
	report := env.Stdout
	if out == "-" {
		report = env.Stderr // stdout holds the file
	}
	if c.json {
		return printJSON(report, summary)
	}
	rate := float64(res.Rows) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(report, "exported %d leads to %s: %s, sha256 %s, in %s (%.0f leads/s)\n",
		res.Rows, out, humanBytes(res.Bytes), res.SHA256, took.Round(time.Millisecond), rate)
	return nil
}

// openOut opens where an export goes. A file is written under a temporary
// name beside it and renamed into place by commit, so a failed export
// leaves nothing behind but the error.
func openOut(env *Env, out string) (w io.Writer, commit func() error, abort func(), err error) {
	if out == "-" {
		return env.Stdout, func() error { return nil }, func() {}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("export: %w", err)
	}
	abort = func() {
		f.Close()
		os.Remove(f.Name())
	}
	commit = func() error {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(f.Name(), out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}
	return f, commit, abort, nil
}

// privateTemp returns the data directory's tmp/, mode 0700, where an XLSX
// workbook spills while it is built.
func privateTemp(cfg config.Config) (string, error) {
	dir := filepath.Join(cfg.DataDir, "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("temporary directory: %w", err)
	}
	return dir, nil
}

// humanBytes writes n as B, KB, MB or GB (powers of 1000).
func humanBytes(n int64) string {
	v, unit := float64(n), "B"
	for _, u := range []string{"KB", "MB", "GB"} {
		if v < 1000 {
			break
		}
		v, unit = v/1000, u
	}
	if unit == "B" {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// progressBar draws "done / total things, percent, rate" on a terminal,
// at most ten times a second; on anything else it draws nothing.
type progressBar struct {
	w     io.Writer
	what  string
	on    bool
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, what string) *progressBar {
	return &progressBar{w: w, what: what, on: isTerminal(w), start: time.Now()}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progressBar) update(done, total int64) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last, p.drawn = now, true
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	filled := int(frac * width)
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r[%s%s] %d / %d %s  %3.0f%%  %.0f %s/s ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		done, total, p.what, frac*100, rate, p.what)
}

// done ends the bar's line.
func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
