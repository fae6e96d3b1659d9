package export

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// jsonEncoder writes leads as JSON objects with one key per column, in
// column order, values verbatim: text as strings, numbers as numbers,
// consent as booleans, lists as arrays, times as RFC 3339 strings, a
// missing answer as null. As JSON it writes one array, streamed, one
// object a line; as NDJSON one object a line and nothing else.
type jsonEncoder struct {
	w     io.Writer
	lines bool // NDJSON
	keys  [][]byte
	rows  int
}

func newJSONEncoder(w io.Writer, ndjson bool) *jsonEncoder {
	return &jsonEncoder{w: w, lines: ndjson}
}

func (e *jsonEncoder) header(cols []column) error {
	e.keys = make([][]byte, len(cols))
	for i, c := range cols {
		e.keys[i] = append(appendJSONString(nil, c.name), ':')
	}
	return nil
}

func (e *jsonEncoder) formatter() formatter { return e }

// format adds an object: in a JSON array each one after ",\n", which
// write leaves out before the first.
func (e *jsonEncoder) format(c *chunk, values []value) error {
	b := c.text
	if !e.lines {
		b = append(b, ",\n"...)
	}
	b = append(b, '{')
	for i := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.keys[i]...)
		b = appendJSONValue(b, &values[i])
	}
	b = append(b, '}')
	if e.lines {
		b = append(b, '\n')
	}
	c.text = b
	c.rows++
	return nil
}

func (e *jsonEncoder) end(*chunk) error { return nil }

func (e *jsonEncoder) write(c *chunk) error {
	b := c.text
	if !e.lines && e.rows == 0 && c.rows > 0 {
		if _, err := io.WriteString(e.w, "[\n"); err != nil {
			return err
		}
		b = b[len(",\n"):]
	}
	e.rows += c.rows
	_, err := e.w.Write(b)
	return err
}

func (e *jsonEncoder) close() error {
	if e.lines {
		return nil
	}
	end := "\n]\n"
	if e.rows == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(e.w, end)
	return err
}

func appendJSONValue(b []byte, v *value) []byte {
	switch v.kind {
	case textKind, dateKind:
		return appendJSONString(b, v.s)
	case boolKind:
		return strconv.AppendBool(b, v.b)
	case numKind:
		return appendJSONNumber(b, v.n)
	case listKind:
		b = append(b, '[')
		for i, s := range v.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	case timeKind:
		if v.t.IsZero() {
			return appendJSONString(b, "")
		}
		b = append(b, '"')
		b = v.t.UTC().AppendFormat(b, TimeLayout)
		return append(b, '"')
	}
	return append(b, "null"...)
}

// appendJSONNumber writes f as encoding/json does. Answers are checked
// finite on the way in; a value that is not would be written as null.
func appendJSONNumber(b []byte, f float64) []byte {
	if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
		return append(b, "null"...)
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// 1e-07 is written 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendJSONString writes s as a JSON string. It escapes what JSON
// requires, plus U+2028 and U+2029 so the file is also safe as JavaScript;
// invalid UTF-8 becomes U+FFFD, as with encoding/json. Text is otherwise
// written as is: emoji, right-to-left text and <, >, & verbatim.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
