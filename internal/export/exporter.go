// Package export writes leads out as CSV, JSON, NDJSON or XLSX files:
// streamed, in a stable order, with the row count checked against the
// database, spreadsheet formulas neutralised, and column presets for
// HubSpot and Salesforce imports. Exporter writes one file to any writer
// (leadcap export uses it directly); Service stores exports encrypted in
// the object store, runs large ones in the background and serves them by
// signed, expiring links; Janitor removes them when they expire.
package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

// Exporter writes exports. It is safe for concurrent use.
type Exporter struct {
	Store   *store.Store
	Auditor Auditor // required: every export is audited
	// TempDir is where an XLSX workbook spills while it is built; the
	// files hold leads in clear text and are removed when it is done, so
	// it should be private to leadcap. Default: the system's.
	TempDir string
}

// WriteOptions say who exports and how to report progress.
type WriteOptions struct {
	ExportID  string // of a stored export; empty for a file the CLI writes
	Actor     Actor
	ClientIP  string
	UserAgent string
	// Progress, if set, is called from the exporting goroutine with the
	// rows written and the rows expected, after every page of 1000 leads
	// written: the last call is when every lead is written (with no leads,
	// a call with none), before the count is checked.
	Progress func(done, total int64)
	// Total is the rows expected, when the caller has counted them
	// already; otherwise Write counts them if Progress is set.
	Total int64
}

// Result describes a written export file.
type Result struct {
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // hex, of the file as written
}

// Write writes the leads of p to w in p's format and records an
// AuditCreate event. After the last lead it counts the matching leads in
// the database again: if they are not as many as it wrote (a lead was
// erased, or one with an earlier creation time was imported, while the
// export ran), it fails with ECONFLICT. On failure w holds an incomplete
// file, which the caller must discard; on success everything is written
// to w, but w is not closed.
func (x *Exporter) Write(ctx context.Context, w io.Writer, p *Plan, o WriteOptions) (res Result, err error) {
	defer func() {
		if aerr := x.audit(ctx, p, o, res, err); aerr != nil && err == nil {
			err = aerr
		}
	}()
	f := leadFilter(p.Filter)
	// The total is only for progress: counting costs a pass over the
	// leads, so it is done only when asked for and not known.
	total := o.Total
	if total == 0 && o.Progress != nil {
		if total, err = x.Store.CountMatchingLeads(ctx, f); err != nil {
			return Result{}, fmt.Errorf("export: %w", err)
		}
	}
	hw := &hashWriter{w: w, h: sha256.New()}
	bw := bufio.NewWriterSize(hw, 256<<10)
	enc, err := newEncoder(p.Format, bw, encoderOptions{bom: p.BOM, tempDir: x.TempDir})
	if err != nil {
		return Result{}, err
	}
	cols := columnsFor(p.Columns, p.confs)
	if err := enc.header(cols); err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	confs := make(map[string]*leadcap.Conference, len(p.confs))
	for _, c := range p.confs {
		confs[c.ID] = c
	}
	// Workers turn pages of leads into chunks of the file, each with a
	// formatter of its own; the chunks are written here, in order.
	var rows int64
	err = store.StreamLeads(ctx, x.Store, f, func(leads []*leadcap.Lead, out *pageOut) error {
		if out.f == nil {
			out.f, out.values = enc.formatter(), make([]value, len(cols))
		}
		out.c.reset()
		var rec record
		for _, l := range leads {
			rec.lead, rec.conf = l, confs[l.ConferenceID]
			if rec.conf == nil {
				// Its questions are not among the columns.
				return leadcap.Errorf(leadcap.ECONFLICT, "a conference was added while the export ran; run it again")
			}
			for i, c := range cols {
				c.value(&rec, &out.values[i])
			}
			if err := out.f.format(&out.c, out.values); err != nil {
				return fmt.Errorf("lead %s: %w", l.ID, err)
			}
		}
		return out.f.end(&out.c)
	}, func(_ []*leadcap.Lead, out *pageOut) error {
		if err := enc.write(&out.c); err != nil {
			return err
		}
		rows += int64(out.c.rows)
		if o.Progress != nil {
			o.Progress(rows, total)
		}
		return nil
	})
	if err != nil {
		return Result{Rows: rows}, fmt.Errorf("export: %w", err)
	}
	if o.Progress != nil && rows == 0 {
		o.Progress(0, total)
	}
	now, err := x.Store.CountMatchingLeads(ctx, f)
	if err != nil {
		return Result{Rows: rows}, fmt.Errorf("export: %w", err)
	}
	if now != rows {
		return Result{Rows: rows}, leadcap.Errorf(leadcap.ECONFLICT,
			"export failed its row count: it wrote %d leads, but %d match in the database now (leads changed while it ran); run it again", rows, now)
	}
	if err := enc.close(); err != nil {
		return Result{Rows: rows}, fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Result{Rows: rows}, fmt.Errorf("export: %w", err)
	}
	return Result{Rows: rows, Bytes: hw.n, SHA256: hex.EncodeToString(hw.h.Sum(nil))}, nil
}

// audit records the AuditCreate event of a Write.
func (x *Exporter) audit(ctx context.Context, p *Plan, o WriteOptions, res Result, err error) error {
	ev := AuditEvent{Action: AuditCreate, ExportID: o.ExportID, Actor: o.Actor, ClientIP: o.ClientIP,
		UserAgent: o.UserAgent, Result: AuditSuccess, Detail: map[string]string{
			"format": p.Format, "columns": p.Columns, "rows": strconv.FormatInt(res.Rows, 10),
			"conference_id": p.Filter.ConferenceID, "include_spam": strconv.FormatBool(p.Filter.IncludeSpam)}}
	if err != nil {
		ev.Result, ev.Detail["reason"] = AuditFailure, leadcap.ErrorMessage(err)
	} else {
		ev.Detail["sha256"], ev.Detail["bytes"] = res.SHA256, strconv.FormatInt(res.Bytes, 10)
	}
	if aerr := x.Auditor.AuditExport(context.WithoutCancel(ctx), ev); aerr != nil {
		return fmt.Errorf("export: audit: %w", aerr)
	}
	return nil
}

// pageOut is what a worker makes of a page of leads: its rows formatted,
// with the formatter and the values that made them, kept for the next page.
type pageOut struct {
	f      formatter
	values []value
	c      chunk
}

// hashWriter counts and hashes what passes through it.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}
