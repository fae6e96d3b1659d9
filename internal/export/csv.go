package export

import (
	"encoding/csv"
	"io"
	"time"
)

// utf8BOM makes Excel read a CSV file as UTF-8 rather than the local code page.
const utf8BOM = "\ufeff"

// csvEncoder writes RFC 4180 CSV: a header line, then one record per lead,
// CRLF line ends, fields quoted when they hold a comma, a quote or a line
// break. Every field is neutralised against formula injection. Stored text
// never holds a carriage return (intake turns CR LF and lone CR into LF),
// so writing line breaks inside fields as CRLF changes no value: a reader
// that follows the RFC gives back LF.
type csvEncoder struct {
	w io.Writer
}

func newCSVEncoder(w io.Writer, bom bool) (*csvEncoder, error) {
	if bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return nil, err
		}
	}
	return &csvEncoder{w: w}, nil
}

func newCSVWriter(w io.Writer) *csv.Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return cw
}

func (e *csvEncoder) header(cols []column) error {
	fields := make([]string, len(cols))
	for i, c := range cols {
		fields[i] = Neutralise(c.name)
	}
	cw := newCSVWriter(e.w)
	if err := cw.Write(fields); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (e *csvEncoder) formatter() formatter {
	f := &csvFormatter{}
	f.w = newCSVWriter(&f.to)
	return f
}

func (e *csvEncoder) write(c *chunk) error {
	_, err := e.w.Write(c.text)
	return err
}

func (e *csvEncoder) close() error { return nil }

// csvFormatter formats CSV records with encoding/csv into the chunk at hand.
type csvFormatter struct {
	w      *csv.Writer
	to     chunkWriter
	fields []string
	// The last time written and its text: a lead's times are often the
	// same (created, updated and consented at once).
	lastTime time.Time
	lastText string
}

// chunkWriter appends to the text of a chunk that changes.
type chunkWriter struct{ c *chunk }

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.c.text = append(w.c.text, p...)
	return len(p), nil
}

func (f *csvFormatter) format(c *chunk, values []value) error {
	f.to.c = c
	if len(f.fields) != len(values) {
		f.fields = make([]string, len(values))
	}
	for i := range values {
		v := &values[i]
		if v.kind == timeKind {
			if !v.t.Equal(f.lastTime) || f.lastText == "" {
				f.lastTime, f.lastText = v.t, text(v)
			}
			f.fields[i] = f.lastText
			continue
		}
		f.fields[i] = Neutralise(text(v))
	}
	c.rows++
	return f.w.Write(f.fields)
}

func (f *csvFormatter) end(c *chunk) error {
	f.to.c = c
	f.w.Flush()
	return f.w.Error()
}
