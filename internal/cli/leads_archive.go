package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/store"
)

func (o *leadsOptions) checkArchive(now time.Time) error {
	switch {
	case o.email != "" || o.id != "" || o.purgeExports:
		return errors.New("leads archive: --email, --id and --purge-exports are erase's")
	case (o.before == "") == (o.olderThan == ""):
		return errors.New("leads archive: give --before DATE or --older-than AGE (like 2y)")
	case o.out == "" && !o.dryRun:
		return errors.New("leads archive: -o FILE is required")
	case o.out == "-":
		return errors.New("leads archive: -o must name a file, which is read back before any lead is deleted")
	case o.format != leadcap.FormatNDJSON && o.format != leadcap.FormatCSV && o.format != leadcap.FormatJSON:
		return fmt.Errorf("leads archive: --format %q: want ndjson, csv or json (a file that is read back row by row)", o.format)
	}
	if o.out != "" && !o.dryRun {
		if _, err := os.Stat(o.out); err == nil {
			return fmt.Errorf("leads archive: %s exists: an archive never replaces a file", o.out)
		}
	}
	if o.olderThan != "" {
		cutoff, ok := ago(now, o.olderThan)
		if !ok {
			return fmt.Errorf("leads archive: --older-than %q: want a whole number of years, months or days, like 2y, 18mo or 400d", o.olderThan)
		}
		o.cutoff = cutoff
		return nil
	}
	t, err := time.Parse(time.DateOnly, o.before)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, o.before); err != nil {
			return fmt.Errorf("leads archive: --before %q: want a date like 2025-01-01 (UTC) or a time like 2025-01-01T00:00:00Z", o.before)
		}
	}
	if t.After(now) {
		return fmt.Errorf("leads archive: --before %s is in the future", o.before)
	}
	o.cutoff = t.UTC()
	return nil
}

// ago returns now less an age like 2y, 18mo or 400d.
func ago(now time.Time, age string) (time.Time, bool) {
	for _, u := range []struct {
		suffix    string
		y, m, day int
	}{{"mo", 0, 1, 0}, {"y", 1, 0, 0}, {"d", 0, 0, 1}} {
		if n, ok := strings.CutSuffix(age, u.suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || v > 100*366 {
				return time.Time{}, false
			}
			return now.AddDate(-v*u.y, -v*u.m, -v*u.day).UTC(), true
		}
	}
	return time.Time{}, false
}

// archiveReport is what an archive did, or would do.
type archiveReport struct {
	DryRun  bool      `json:"dry_run"`
	Before  time.Time `json:"before"`
	File    string    `json:"file,omitempty"`
	Format  string    `json:"format"`
	Leads   int64     `json:"leads"` // created before Before: in the file
	Bytes   int64     `json:"bytes,omitempty"`
	SHA256  string    `json:"sha256,omitempty"`
	Deleted int64     `json:"deleted"`
	Kept    int64     `json:"kept"`
}

// archiveLeads writes the leads created before the cutoff to a file with
// the export pipeline, reads the file back, and only then deletes from the
// database the leads it holds whole.
func archiveLeads(ctx context.Context, env *Env, asJSON bool, cfg config.Config, st *store.Store, o leadsOptions) error {
	started := time.Now()
	plan, err := export.NewPlan(ctx, st, export.Request{Format: o.format, Conference: o.conferenceID,
		Until: o.cutoff.Format(time.RFC3339Nano), IncludeSpam: true}, started)
	if err != nil {
		return err
	}
	filter := store.LeadFilter{ConferenceID: plan.Filter.ConferenceID, Until: plan.Filter.Until, IncludeSpam: true}
	rep := archiveReport{DryRun: o.dryRun, Before: o.cutoff, File: o.out, Format: o.format}
	if rep.Leads, err = st.CountMatchingLeads(ctx, filter); err != nil {
		return err
	}
	if o.dryRun || rep.Leads == 0 {
		return rep.print(env, asJSON)
	}
	tmp, err := privateTemp(cfg)
	if err != nil {
		return err
	}
	x := &export.Exporter{Store: st, Auditor: export.StoreAuditor{Store: st}, TempDir: tmp}
	w, commit, abort, err := openOut(env, o.out)
	if err != nil {
		return err
	}
	bar := newProgressBar(env.Stderr, "leads archived")
	res, err := x.Write(ctx, w, plan, export.WriteOptions{Actor: export.Actor{Name: export.ActorCLI},
		Total: rep.Leads, Progress: bar.update})
	bar.done()
	if err == nil {
		err = commit()
	}
	if err != nil {
		abort()
		return fmt.Errorf("leads archive: %w; no lead was deleted", err)
	}
	rep.Leads, rep.Bytes, rep.SHA256 = res.Rows, res.Bytes, res.SHA256
	rows, size, sum, err := readBack(o.out, o.format)
	if err == nil && (rows != res.Rows || size != res.Bytes || sum != res.SHA256) {
		err = fmt.Errorf("it reads back as %d rows in %d bytes with SHA-256 %s, but %d rows in %d bytes with %s were written",
			rows, size, sum, res.Rows, res.Bytes, res.SHA256)
	}
	if err != nil {
		return fmt.Errorf("leads archive: %s: %w; no lead was deleted", o.out, err)
	}
	bar = newProgressBar(env.Stderr, "leads deleted")
	rep.Deleted, rep.Kept, err = st.DeleteArchivedLeads(ctx, filter, started, func(n int64) { bar.update(n, rep.Leads) })
	bar.done()
	// Recorded even after a failure: what was deleted by then is.
	aerr := st.AppendAudit(ctx, leadcap.AuditEvent{Actor: export.ActorCLI, Action: auditLeadArchive,
		Target: conferenceTarget(filter.ConferenceID), Result: leadcap.AuditSuccess, Detail: map[string]string{
			"before": o.cutoff.Format(time.RFC3339), "format": o.format, "rows": fmt.Sprint(res.Rows),
			"sha256": res.SHA256, "deleted": fmt.Sprint(rep.Deleted), "kept": fmt.Sprint(rep.Kept)}})
	if err = errors.Join(err, aerr); err != nil {
		return fmt.Errorf("leads archive: %s is complete, but deleting the archived leads failed after %d: %w", o.out, rep.Deleted, err)
	}
	return rep.print(env, asJSON)
}

func conferenceTarget(id string) string {
	if id == "" {
		return ""
	}
	return "conference:" + id
}

func (rep archiveReport) print(env *Env, asJSON bool) error {
	if asJSON {
		return printJSON(env.Stdout, rep)
	}
	w, before := env.Stdout, rep.Before.Format(time.RFC3339)
	switch {
	case rep.Leads == 0:
		fmt.Fprintf(w, "no lead was created before %s: nothing to archive\n", before)
	case rep.DryRun:
		fmt.Fprintf(w, "would archive %d leads created before %s to %s (%s), then delete from the database those it holds whole\ndry run: nothing changed\n",
			rep.Leads, before, dash(rep.File), rep.Format)
	default:
		fmt.Fprintf(w, "archived %d leads created before %s to %s: %s, sha256 %s; read back: %d rows\n",
			rep.Leads, before, rep.File, humanBytes(rep.Bytes), rep.SHA256, rep.Leads)
		fmt.Fprintf(w, "deleted %d of them from the database; their raw copies stay under raw/\n", rep.Deleted)
		if rep.Kept > 0 {
			fmt.Fprintf(w, "kept %d in the database (they are in the file too): changed since the archive began, or with a rating, tags, staff notes or a raw copy not yet written\n", rep.Kept)
		}
	}
	return nil
}

// readBack reads an archive file as its format and returns its rows, size
// and SHA-256.
func readBack(path, format string) (rows, size int64, sum string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	cr := &countingReader{r: f}
	r := io.TeeReader(cr, h)
	switch format {
	case leadcap.FormatNDJSON:
		buf := make([]byte, 256<<10)
		for {
			n, err := r.Read(buf)
			rows += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if err == io.EOF {
				break
			} else if err != nil {
				return 0, 0, "", err
			}
		}
	case leadcap.FormatCSV:
		cv := csv.NewReader(r)
		cv.ReuseRecord = true
		for ; ; rows++ {
			if _, err := cv.Read(); err == io.EOF {
				break
			} else if err != nil {
				return 0, 0, "", err
			}
		}
		rows-- // the header
	case leadcap.FormatJSON:
		dec := json.NewDecoder(r)
		if _, err := dec.Token(); err != nil {
			return 0, 0, "", err
		}
		for ; dec.More(); rows++ {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return 0, 0, "", err
			}
		}
		if _, err := dec.Token(); err != nil {
			return 0, 0, "", err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return 0, 0, "", err
	}
	return rows, cr.n, hex.EncodeToString(h.Sum(nil)), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
