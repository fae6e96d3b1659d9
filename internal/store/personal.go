package store

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

// decodePersonal decodes the JSON of a lead's personal fields into p.
//
// encoding/json takes about 15 µs per lead here, three times what a whole
// export may spend on a lead, so decodePersonal first tries a decoder for
// exactly what json.Marshal writes for a personal value: the known keys in
// any order, no white space, strings without escapes, answers that are a
// string, a list of strings, a number or null. Anything else (an escaped
// string, an unknown key, white space, a number json would refuse) makes it
// give up and leave the value to encoding/json, which stays the reference:
// FuzzDecodePersonal holds the two equal.
func decodePersonal(b []byte, p *personal) error {
	if fastPersonal(b, p) {
		return nil
	}
	*p = personal{}
	return json.Unmarshal(b, p)
}

// fastPersonal decodes b into p, or reports false when b is not in the
// form it knows; p is then in an undefined state.
func fastPersonal(b []byte, p *personal) bool {
	// encoding/json would replace invalid UTF-8; leave that to it. Valid
	// text split at ASCII quotes is valid in every part, so the strings
	// need no check of their own, and they all share one copy of b.
	if !utf8.Valid(b) {
		return false
	}
	d := jsonScan{b: b, s: string(b)}
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.next(':') {
			return false
		}
		switch key {
		case "fn":
			p.FirstName, ok = d.str()
		case "ln":
			p.LastName, ok = d.str()
		case "em":
			p.Email, ok = d.str()
		case "ph":
			p.Phone, ok = d.str()
		case "co":
			p.Company, ok = d.str()
		case "jt":
			p.JobTitle, ok = d.str()
		case "cc":
			p.Country, ok = d.str()
		case "no":
			p.Notes, ok = d.str()
		case "ip":
			p.ConsentIP, ok = d.str()
		case "in":
			p.Interests, ok = d.strs()
		case "an":
			p.Answers, ok = d.answers()
		default:
			return false
		}
		if !ok {
			return false
		}
		if d.next(',') {
			continue
		}
		return d.next('}') && d.end()
	}
}

// jsonScan reads a JSON document from b, at i; s is b as a string, which
// the strings it reads are parts of.
type jsonScan struct {
	b []byte
	s string
	i int
}

func (d *jsonScan) end() bool { return d.i == len(d.b) }

// next consumes c if it comes next.
func (d *jsonScan) next(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *jsonScan) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// str reads a string. One with an escape is handed to encoding/json.
func (d *jsonScan) str() (string, bool) {
	start := d.i
	if !d.next('"') {
		return "", false
	}
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.s[start+1 : d.i]
			d.i++
			return s, true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// escaped reads the string that starts at start with encoding/json.
func (d *jsonScan) escaped(start int) (string, bool) {
	for i := d.i; i < len(d.b); i++ {
		switch d.b[i] {
		case '\\':
			i++
		case '"':
			var s string
			if json.Unmarshal(d.b[start:i+1], &s) != nil {
				return "", false
			}
			d.i = i + 1
			return s, true
		}
	}
	return "", false
}

// strs reads a list of strings. An empty list is empty, not nil, as with
// encoding/json.
func (d *jsonScan) strs() ([]string, bool) {
	if !d.next('[') {
		return nil, false
	}
	out := []string{}
	if d.next(']') {
		return out, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.next(',') {
			continue
		}
		return out, d.next(']')
	}
}

// answers reads answers with the value types of leadcap.Answers.UnmarshalJSON.
func (d *jsonScan) answers() (leadcap.Answers, bool) {
	if !d.next('{') {
		return nil, false
	}
	out := leadcap.Answers{}
	if d.next('}') {
		return out, true
	}
	for {
		key, ok := d.str()
		if !ok || !d.next(':') {
			return nil, false
		}
		switch c := d.peek(); {
		case c == '"':
			out[key], ok = d.str()
		case c == '[':
			out[key], ok = d.strs()
		case c == 'n':
			// A string is tried first, and null decodes into one as "".
			out[key], ok = "", d.literal("null")
		case c == '-' || c >= '0' && c <= '9':
			out[key], ok = d.number()
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
		if d.next(',') {
			continue
		}
		return out, d.next('}')
	}
}

func (d *jsonScan) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonScan) number() (float64, bool) {
	start := d.i
	d.next('-')
	if !d.next('0') && !d.digits() {
		return 0, false
	}
	if d.next('.') && !d.digits() {
		return 0, false
	}
	if d.next('e') || d.next('E') {
		if !d.next('+') {
			d.next('-')
		}
		if !d.digits() {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(d.s[start:d.i], 64)
	return f, err == nil
}

// digits consumes one or more digits.
func (d *jsonScan) digits() bool {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}
