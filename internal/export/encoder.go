package export

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/leadcap/leadcap"
)

// encoder writes one file format: a header, chunks of rows in order, and
// the end of the document. The rows of a chunk are formatted beforehand by
// formatters, several at once on as many goroutines, so that formatting,
// which costs more than writing, is spread over every CPU.
type encoder interface {
	header(cols []column) error
	// formatter returns a new formatter of rows, for one goroutine.
	formatter() formatter
	// write writes the rows of c, after those of the chunks before it.
	write(c *chunk) error
	// close ends the document; it does not close the writer beneath.
	close() error
}

// formatter turns rows of values into a chunk of an encoder's format.
type formatter interface {
	// format adds one row to c.
	format(c *chunk, values []value) error
	// end is called after the last row of c.
	end(c *chunk) error
}

// chunk is a run of formatted rows: bytes for the text formats, cells for
// XLSX. Its memory is used again for a later chunk after it is written.
type chunk struct {
	rows  int
	text  []byte
	cells []any // rows × columns
}

func (c *chunk) reset() {
	c.rows, c.text = 0, c.text[:0]
	clear(c.cells)
	c.cells = c.cells[:0]
}

// encoderOptions are what an encoder needs beyond its writer.
type encoderOptions struct {
	bom     bool   // CSV: start with a UTF-8 byte order mark
	tempDir string // XLSX: where the workbook under construction spills to disk
}

func newEncoder(format string, w io.Writer, o encoderOptions) (encoder, error) {
	switch format {
	case leadcap.FormatCSV:
		return newCSVEncoder(w, o.bom)
	case leadcap.FormatJSON:
		return newJSONEncoder(w, false), nil
	case leadcap.FormatNDJSON:
		return newJSONEncoder(w, true), nil
	case leadcap.FormatXLSX:
		return newXLSXEncoder(w, o.tempDir)
	}
	return nil, fmt.Errorf("export: unknown format %q", format)
}

// ContentType returns the media type of a format.
func ContentType(format string) string {
	switch format {
	case leadcap.FormatCSV:
		return "text/csv; charset=utf-8"
	case leadcap.FormatJSON:
		return "application/json"
	case leadcap.FormatNDJSON:
		return "application/x-ndjson"
	case leadcap.FormatXLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// TimeLayout is how times are written as text: RFC 3339 in UTC, with as
// many fractional digits as they have (leadcap keeps microseconds).
const TimeLayout = "2006-01-02T15:04:05.999999Z07:00"

// MultiSeparator joins the values of interests and multiple-choice answers
// in CSV and XLSX, as CRM imports of multi-select fields expect.
const MultiSeparator = ";"

// text renders a value as the text of a CSV or XLSX cell, before
// neutralisation.
func text(v *value) string {
	switch v.kind {
	case textKind, dateKind:
		return v.s
	case boolKind:
		return strconv.FormatBool(v.b)
	case numKind:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case listKind:
		return strings.Join(v.list, MultiSeparator)
	case timeKind:
		if v.t.IsZero() {
			return ""
		}
		return v.t.UTC().Format(TimeLayout)
	}
	return ""
}
