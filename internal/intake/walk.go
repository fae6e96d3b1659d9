package intake

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/leadcap/leadcap"
)

// place is where in a lead submission a JSON value sits; it decides which
// keys, types and counts the walk accepts there.
type place int

const (
	placeOther     place = iota // a value whose type encoding/json checks
	placeRoot                   // the submission object
	placeConsent                // the consent object
	placeAnswers                // the answers object
	placeAnswer                 // one answer: string, number, null or list of strings
	placeInterests              // the interests list
	placeChoice                 // one value in a multiple-choice answer
)

// walk checks the structure of b, which must be valid JSON (json.Valid),
// before encoding/json decodes it: encoding/json keeps the last of
// duplicate keys, matches keys case-insensitively and has no nesting limit,
// each of which would let one body mean different things to different
// readers. walk checks that b is one JSON object with no duplicate key in
// any object (compared after unescaping), no NUL in any string, no nesting
// deeper than maxDepth, only the exact known keys at the top and in
// consent, answers of the accepted types, and the count limits.
//
// It scans the bytes itself rather than with json.Decoder.Token, which
// allocates two to three times per token and made up two thirds of the
// allocations of the whole ingest path; walk_tokens_test.go keeps a
// Token-based walk as the oracle of a differential fuzz test.
func walk(b []byte) error {
	var keys [32][]byte
	w := scanner{b: b, keys: keys[:0]}
	w.space()
	if w.i >= len(b) || b[w.i] != '{' {
		return leadcap.Errorf(leadcap.EBADREQUEST, "the body must be a JSON object")
	}
	w.i++
	return w.object(1, placeRoot)
}

// scanner reads valid JSON. Since its input is valid, it checks no syntax;
// it must still not panic on any input, so every index is checked.
type scanner struct {
	b    []byte
	i    int
	keys [][]byte // unescaped keys seen so far in each open object, as a stack
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, or 0 at the end.
func (s *scanner) next() byte {
	s.space()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads the string at s.i and returns it with its quotes, whether it
// has escapes, and whether it holds an escaped NUL (raw NULs are refused
// before the walk).
func (s *scanner) str() (quoted []byte, escaped, nul bool) {
	start := s.i
	s.i++ // opening quote
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.i++
			return s.b[start:s.i], escaped, nul
		case '\\':
			escaped = true
			if s.i+5 < len(s.b) && s.b[s.i+1] == 'u' && string(s.b[s.i+2:s.i+6]) == "0000" {
				nul = true
			}
			s.i += 2 // what follows a \u escape is four plain hex digits
		default:
			s.i++
		}
	}
	return s.b[start:], escaped, nul
}

// object walks the members of an object whose '{' has been read.
func (s *scanner) object(depth int, at place) error {
	mark := len(s.keys)
	defer func() { s.keys = s.keys[:mark] }()
	for n := 0; ; n++ {
		switch s.next() {
		case '}':
			s.i++
			return nil
		case ',':
			s.i++
			s.space()
		}
		if s.next() != '"' {
			return invalidJSON()
		}
		quoted, escaped, nul := s.str()
		if len(quoted) < 2 {
			return invalidJSON()
		}
		key := quoted[1 : len(quoted)-1]
		if escaped {
			var k string
			if err := json.Unmarshal(quoted, &k); err != nil {
				return invalidJSON()
			}
			key = []byte(k)
		}
		if nul {
			return leadcap.Errorf(leadcap.EBADREQUEST, "a JSON key contains a NUL character")
		}
		if n >= maxObjectKeys || (at == placeAnswers && n >= MaxAnswers) {
			if at == placeAnswers {
				return badField("answers", "at most %d answers are allowed", MaxAnswers)
			}
			return leadcap.Errorf(leadcap.EBADREQUEST, "a JSON object has too many keys")
		}
		for _, k := range s.keys[mark:] {
			if bytes.Equal(k, key) {
				path := fieldPath(at, string(key))
				return badField(path, "duplicate key %s", quoteKey(path))
			}
		}
		s.keys = append(s.keys, key)

		next := placeOther
		switch at {
		case placeRoot:
			if !isInputKey(string(key)) {
				path := fieldPath(at, string(key))
				return badField(path, "unknown field %s", quoteKey(path))
			}
			switch string(key) {
			case "consent":
				next = placeConsent
			case "answers":
				next = placeAnswers
			case "interests":
				next = placeInterests
			}
		case placeConsent:
			if !isConsentKey(string(key)) {
				path := fieldPath(at, string(key))
				return badField(path, "unknown field %s", quoteKey(path))
			}
		case placeAnswers:
			next = placeAnswer
		}
		if s.next() != ':' {
			return invalidJSON()
		}
		s.i++
		if err := s.value(depth, next, at, key); err != nil {
			return err
		}
	}
}

// array walks the elements of an array whose '[' has been read; parent and
// key name the member that holds it, for messages.
func (s *scanner) array(depth int, at, parent place, key []byte) error {
	elem, max := placeOther, -1
	switch at {
	case placeInterests:
		max = MaxInterests
	case placeAnswer:
		elem, max = placeChoice, MaxAnswerValues
	}
	for n := 0; ; n++ {
		switch s.next() {
		case ']':
			s.i++
			return nil
		case ',':
			s.i++
		case 0:
			return invalidJSON()
		}
		if max >= 0 && n >= max {
			path := fieldPath(parent, string(key))
			return badField(path, "at most %d values are allowed in %s", max, quoteKey(path))
		}
		if err := s.value(depth, elem, parent, key); err != nil {
			return err
		}
	}
}

// value walks the value at s.i, found at depth at place; parent and key
// name the member that holds it, for messages.
func (s *scanner) value(depth int, at, parent place, key []byte) error {
	c := s.next()
	switch c {
	case '{', '[':
		if depth >= maxDepth {
			return leadcap.Errorf(leadcap.EBADREQUEST, "the JSON body is nested too deeply")
		}
		if at == placeChoice || (c == '{' && at == placeAnswer) {
			return answerTypeError(fieldPath(parent, string(key)))
		}
		s.i++
		if c == '[' {
			return s.array(depth+1, at, parent, key)
		}
		next := placeOther
		if at == placeConsent || at == placeAnswers {
			next = at
		}
		return s.object(depth+1, next)
	case '"':
		if _, _, nul := s.str(); nul {
			path := fieldPath(parent, string(key))
			return badField(path, "%s contains a NUL character", quoteKey(path))
		}
		return nil
	case 't', 'f':
		if at == placeAnswer || at == placeChoice {
			return answerTypeError(fieldPath(parent, string(key)))
		}
	case 'n':
		if at == placeChoice {
			return answerTypeError(fieldPath(parent, string(key)))
		}
	case 0:
		return invalidJSON()
	default: // a number
		if at == placeChoice {
			return answerTypeError(fieldPath(parent, string(key)))
		}
	}
	// A literal or a number: skip to the delimiter that ends it.
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return nil
		}
		s.i++
	}
	return nil
}

// invalidJSON is the error for input that is not JSON. walk only sees valid
// JSON, so it only returns this if that contract is broken.
func invalidJSON() error {
	return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not valid JSON")
}

func answerTypeError(path string) error {
	return &leadcap.Error{
		Code:    leadcap.EBADREQUEST,
		Message: quoteKey(path) + " has the wrong type",
		Fields:  map[string]string{path: "must be a string, a number or a list of strings"},
	}
}

// fieldPath names key at place the way field errors do, e.g. "answers.budget".
func fieldPath(at place, key string) string {
	switch at {
	case placeConsent:
		return "consent." + key
	case placeAnswers:
		return "answers." + key
	}
	return key
}

// quoteKey quotes a key for a message, or stands in for one too long to
// repeat back.
func quoteKey(key string) string {
	if len(key) > 64 {
		return "a key"
	}
	return strconv.Quote(key)
}
