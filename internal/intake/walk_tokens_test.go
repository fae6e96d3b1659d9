package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

// tokenWalker is walk written with json.Decoder.Token: simpler to trust,
// but it allocates for nearly every token. It is the oracle that
// FuzzWalk compares walk with.
type tokenWalker struct {
	dec  *json.Decoder
	keys []string // keys seen so far in each open object, as a stack
}

// walkTokens checks, as walk does, that b is one JSON object with no duplicate key in any
// object, no NUL in any string, no nesting deeper than maxDepth, only known
// keys at the top and in consent, answers of the accepted types, the count
// limits, and nothing after the object.
func walkTokens(b []byte) error {
	w := tokenWalker{dec: json.NewDecoder(bytes.NewReader(b))}
	w.dec.UseNumber() // no need to parse numbers here
	tok, err := w.dec.Token()
	if err != nil {
		return tokenSyntaxError(err)
	}
	if tok != json.Delim('{') {
		return leadcap.Errorf(leadcap.EBADREQUEST, "the body must be a JSON object")
	}
	if err := w.object(1, placeRoot); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return leadcap.Errorf(leadcap.EBADREQUEST, "unexpected data after the JSON object")
	}
	return nil
}

func tokenSyntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return leadcap.Errorf(leadcap.EBADREQUEST, "the JSON body ends too early")
	}
	return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not valid JSON")
}

// object walks the members of an object whose '{' has been read.
func (w *tokenWalker) object(depth int, at place) error {
	mark := len(w.keys)
	defer func() { w.keys = w.keys[:mark] }()
	for n := 0; ; n++ {
		tok, err := w.dec.Token()
		if err != nil {
			return tokenSyntaxError(err)
		}
		if tok == json.Delim('}') {
			return nil
		}
		key, _ := tok.(string) // the decoder returns keys as strings
		path := fieldPath(at, key)
		if strings.IndexByte(key, 0) >= 0 {
			return leadcap.Errorf(leadcap.EBADREQUEST, "a JSON key contains a NUL character")
		}
		if n >= maxObjectKeys || (at == placeAnswers && n >= MaxAnswers) {
			if at == placeAnswers {
				return badField("answers", "at most %d answers are allowed", MaxAnswers)
			}
			return leadcap.Errorf(leadcap.EBADREQUEST, "a JSON object has too many keys")
		}
		for _, k := range w.keys[mark:] {
			if k == key {
				return badField(path, "duplicate key %s", quoteKey(path))
			}
		}
		w.keys = append(w.keys, key)

		next := placeOther
		switch at {
		case placeRoot:
			if !isInputKey(key) {
				return badField(path, "unknown field %s", quoteKey(path))
			}
			switch key {
			case "consent":
				next = placeConsent
			case "answers":
				next = placeAnswers
			case "interests":
				next = placeInterests
			}
		case placeConsent:
			if !isConsentKey(key) {
				return badField(path, "unknown field %s", quoteKey(path))
			}
		case placeAnswers:
			next = placeAnswer
		}
		tok, err = w.dec.Token()
		if err != nil {
			return tokenSyntaxError(err)
		}
		if err := w.value(tok, depth, next, path); err != nil {
			return err
		}
	}
}

// array walks the elements of an array whose '[' has been read.
func (w *tokenWalker) array(depth int, at place, path string) error {
	elem, max := placeOther, -1
	switch at {
	case placeInterests:
		max = MaxInterests
	case placeAnswer:
		elem, max = placeChoice, MaxAnswerValues
	}
	for n := 0; ; n++ {
		tok, err := w.dec.Token()
		if err != nil {
			return tokenSyntaxError(err)
		}
		if tok == json.Delim(']') {
			return nil
		}
		if max >= 0 && n >= max {
			return badField(path, "at most %d values are allowed in %s", max, quoteKey(path))
		}
		if err := w.value(tok, depth, elem, path); err != nil {
			return err
		}
	}
}

// value walks the value that starts with tok, found at depth at place.
func (w *tokenWalker) value(tok json.Token, depth int, at place, path string) error {
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return leadcap.Errorf(leadcap.EBADREQUEST, "the JSON body is nested too deeply")
		}
		if t == '{' {
			if at == placeAnswer || at == placeChoice {
				return answerTypeError(path)
			}
			next := placeOther
			if at == placeConsent || at == placeAnswers {
				next = at
			}
			return w.object(depth+1, next)
		}
		if at == placeChoice {
			return answerTypeError(path)
		}
		return w.array(depth+1, at, path)
	case string:
		if strings.IndexByte(t, 0) >= 0 {
			return badField(path, "%s contains a NUL character", quoteKey(path))
		}
	case bool:
		if at == placeAnswer || at == placeChoice {
			return answerTypeError(path)
		}
	case json.Number, nil:
		if at == placeChoice {
			return answerTypeError(path)
		}
	}
	return nil
}

// FuzzWalk checks that walk, on valid JSON, returns exactly what the
// Token-based walk returns.
func FuzzWalk(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"answers":{"a":1,"\u0061":2}}`, `{"notes":[{"x":{"y":[1,{"y":1,"y":2}]}}]}`,
		`{"answers":{"q":[true]}}`, `{"answers":{"q":{}}}`, `{"answers":{"q":[[]]}}`,
		`{"first_name":"\\u0000"}`, `{"first_name":"\\\u0000"}`, `{"a\\u0000":1}`,
		`{"consent":{"contact":true,"Contact":true}}`, `{"consent":[{"x":1}]}`,
		`{"interests":[1,2,3]}`, `{ "email" : "a" , "email" : "b" }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 || !json.Valid(b) {
			return
		}
		got, want := walk(b), walkTokens(b)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("walk(%q) = %v, Token walk = %v", b, got, want)
		}
	})
}
