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
	w      *csv.Writer
	fields []string
	// The last time written and its text: a lead's times are often the
	// same (created, updated and consented at once).
	lastTime time.Time
	lastText string
}

func newCSVEncoder(w io.Writer, bom bool) (*csvEncoder, error) {
	if bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return nil, err
		}
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &csvEncoder{w: cw}, nil
}

func (e *csvEncoder) header(cols []column) error {
	e.fields = make([]string, len(cols))
	for i, c := range cols {
		e.fields[i] = Neutralise(c.name)
	}
	return e.w.Write(e.fields)
}

func (e *csvEncoder) row(values []value) error {
	for i := range values {
		v := &values[i]
		if v.kind == timeKind {
			if !v.t.Equal(e.lastTime) || e.lastText == "" {
				e.lastTime, e.lastText = v.t, text(v)
			}
			e.fields[i] = e.lastText
			continue
		}
		e.fields[i] = Neutralise(text(v))
	}
	return e.w.Write(e.fields)
}

func (e *csvEncoder) close() error {
	e.w.Flush()
	return e.w.Error()
}
