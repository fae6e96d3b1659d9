package backup

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/leadcap/leadcap/internal/store"
)

// The plaintext of a backup, before it is compressed and sealed:
//
//	magic    "LEADCAP-BACKUP 1\n"
//	header   one line of JSON (Header), then "\n"
//	tables   for each table of the header, in its order:
//	           'R' then the row's values, once per row
//	           'E' at the end of the table
//	trailer  one line of JSON (Trailer), then "\n"
//
// A value is a tag byte and its bytes: 0 null; 1 integer (signed varint);
// 2 float (IEEE 754, 8 bytes big-endian); 3 text and 4 bytes (unsigned
// varint length, then the bytes); 5 false; 6 true. The format names no
// dialect: SQLite's 0 and 1 and PostgreSQL's booleans both restore onto
// either. The trailer repeats the row counts, so that a backup cut short
// between two tables is noticed even before the sealed stream's own check.

const magic = "LEADCAP-BACKUP 1\n"

// FormatVersion is the version of the plaintext format.
const FormatVersion = 1

// Header opens a backup: what it holds, before the rows.
type Header struct {
	Format         int           `json:"format"` // FormatVersion
	ID             string        `json:"id"`
	TakenAt        time.Time     `json:"taken_at"`
	SchemaVersion  int           `json:"schema_version"`
	Database       string        `json:"database"` // the dialect it was taken from
	LeadcapVersion string        `json:"leadcap_version"`
	Tables         []store.Table `json:"tables"`
}

// TableCount is the number of rows of one table.
type TableCount struct {
	Name string `json:"name"`
	Rows int64  `json:"rows"`
}

// Trailer closes a backup: the rows of each table.
type Trailer struct {
	Tables []TableCount `json:"tables"`
}

const (
	tagNull = iota
	tagInt
	tagFloat
	tagText
	tagBytes
	tagFalse
	tagTrue
)

const (
	markRow = 'R'
	markEnd = 'E'
)

// maxValue bounds one text or bytes value when reading, so that a damaged
// length cannot ask for gigabytes.
const maxValue = 64 << 20

// encoder writes the plaintext format.
type encoder struct {
	w   *bufio.Writer
	buf []byte
}

func newEncoder(w io.Writer) *encoder {
	return &encoder{w: bufio.NewWriterSize(w, 64<<10)}
}

func (e *encoder) header(h *Header) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	e.w.WriteString(magic)
	e.w.Write(b)
	return e.w.WriteByte('\n')
}

// row writes one row; values are nil, int64, float64, bool, string or []byte.
func (e *encoder) row(values []any) error {
	b := append(e.buf[:0], markRow)
	for _, v := range values {
		switch x := v.(type) {
		case nil:
			b = append(b, tagNull)
		case int64:
			b = binary.AppendVarint(append(b, tagInt), x)
		case float64:
			b = binary.BigEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
		case string:
			b = append(binary.AppendUvarint(append(b, tagText), uint64(len(x))), x...)
		case []byte:
			b = append(binary.AppendUvarint(append(b, tagBytes), uint64(len(x))), x...)
		case bool:
			if x {
				b = append(b, tagTrue)
			} else {
				b = append(b, tagFalse)
			}
		default:
			return fmt.Errorf("backup: a value of type %T", v)
		}
	}
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *encoder) endTable() error { return e.w.WriteByte(markEnd) }

// trailer writes the trailer and flushes.
func (e *encoder) trailer(counts []TableCount) error {
	b, err := json.Marshal(Trailer{Tables: counts})
	if err != nil {
		return err
	}
	e.w.Write(b)
	e.w.WriteByte('\n')
	return e.w.Flush()
}

// errFormat wraps every error about a plaintext that is not a backup.
var errFormat = errors.New("not a leadcap backup, or a damaged one")

// decoder reads the plaintext format.
type decoder struct {
	r    *bufio.Reader
	vals []any
}

func newDecoder(r io.Reader) *decoder {
	return &decoder{r: bufio.NewReaderSize(r, 64<<10)}
}

func (d *decoder) bad(format string, args ...any) error {
	return fmt.Errorf("backup: %w: "+format, append([]any{errFormat}, args...)...)
}

// header reads the magic and the header.
func (d *decoder) header() (*Header, error) {
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(d.r, m); err != nil || string(m) != magic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, err
		}
		return nil, d.bad("no header")
	}
	line, err := d.r.ReadBytes('\n')
	if err != nil {
		return nil, d.bad("header: %v", err)
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, d.bad("header: %v", err)
	}
	if h.Format != FormatVersion {
		return nil, fmt.Errorf("backup: format version %d; this leadcap reads version %d", h.Format, FormatVersion)
	}
	return &h, nil
}

// next reads the next row of a table of cols columns into values, which
// stay valid until the next call; it returns nil values at the table's end.
func (d *decoder) next(cols int) ([]any, error) {
	mark, err := d.r.ReadByte()
	if err != nil {
		return nil, d.unexpected(err)
	}
	switch mark {
	case markEnd:
		return nil, nil
	case markRow:
	default:
		return nil, d.bad("unexpected byte %#x between rows", mark)
	}
	if cap(d.vals) < cols {
		d.vals = make([]any, cols)
	}
	vals := d.vals[:cols]
	for i := range vals {
		if vals[i], err = d.value(); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

func (d *decoder) value() (any, error) {
	tag, err := d.r.ReadByte()
	if err != nil {
		return nil, d.unexpected(err)
	}
	switch tag {
	case tagNull:
		return nil, nil
	case tagInt:
		v, err := binary.ReadVarint(d.r)
		if err != nil {
			return nil, d.unexpected(err)
		}
		return v, nil
	case tagFloat:
		var b [8]byte
		if _, err := io.ReadFull(d.r, b[:]); err != nil {
			return nil, d.unexpected(err)
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b[:])), nil
	case tagText, tagBytes:
		n, err := binary.ReadUvarint(d.r)
		if err != nil {
			return nil, d.unexpected(err)
		}
		if n > maxValue {
			return nil, d.bad("a value of %d bytes", n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(d.r, b); err != nil {
			return nil, d.unexpected(err)
		}
		if tag == tagText {
			return string(b), nil
		}
		return b, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	}
	return nil, d.bad("unknown value tag %#x", tag)
}

// trailer reads the trailer and checks that nothing follows it.
func (d *decoder) trailer() (*Trailer, error) {
	line, err := d.r.ReadBytes('\n')
	if err != nil {
		return nil, d.unexpected(err)
	}
	var t Trailer
	if err := json.Unmarshal(line, &t); err != nil {
		return nil, d.bad("trailer: %v", err)
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		if err != nil {
			return nil, err
		}
		return nil, d.bad("data after the trailer")
	}
	return &t, nil
}

// unexpected turns an end of input inside the rows into a format error.
func (d *decoder) unexpected(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.bad("it ends before its trailer")
	}
	return err
}
