package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

// DecodeRequest decodes the body of a lead submission, read up to limit
// bytes (DefaultBodyLimit when limit is 0 or less), by its Content-Type:
// application/json goes to DecodeJSON, application/x-www-form-urlencoded to
// ReadForm and DecodeForm. A charset parameter, if any, must be utf-8. The
// body must not have been read before, by r.ParseForm or otherwise.
func DecodeRequest(r *http.Request, limit int64) (*Input, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	form, err := mediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, leadcap.Errorf(leadcap.EUNSUPPORTED, "compressed request bodies are not supported")
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if r.Body == nil {
		return nil, leadcap.Errorf(leadcap.EBADREQUEST, "the request body is empty")
	}
	if form {
		values, err := ReadForm(r.Body, limit)
		if err != nil {
			return nil, err
		}
		return DecodeForm(values)
	}
	return DecodeJSON(r.Body, limit)
}

// mediaType reports whether contentType names an HTML form (true) or JSON
// (false), or returns an EUNSUPPORTED error for anything else.
func mediaType(contentType string) (form bool, err error) {
	if contentType == "" {
		return false, leadcap.Errorf(leadcap.EUNSUPPORTED, "the Content-Type header is missing")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, leadcap.Errorf(leadcap.EUNSUPPORTED, "the Content-Type header is malformed")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return false, leadcap.Errorf(leadcap.EUNSUPPORTED, "charset must be utf-8")
	}
	switch mt {
	case "application/json":
		return false, nil
	case "application/x-www-form-urlencoded":
		return true, nil
	}
	return false, leadcap.Errorf(leadcap.EUNSUPPORTED,
		"content type must be application/json or application/x-www-form-urlencoded")
}

// DecodeJSON decodes a JSON lead submission of at most limit bytes
// (DefaultBodyLimit when limit is 0 or less). The body must be one JSON
// object in valid UTF-8 with no NUL character (escaped or not), no
// duplicate or unknown keys at any level, no nesting deeper than 8, values
// of the types of Input's fields, answers that are each a string, a number,
// a list of strings or null, and nothing after the object. A JSON null
// stands for an absent value.
func DecodeJSON(r io.Reader, limit int64) (*Input, error) {
	b, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	return decodeJSON(b)
}

func decodeJSON(b []byte) (*Input, error) {
	if !utf8.Valid(b) {
		return nil, leadcap.Errorf(leadcap.EBADREQUEST, "the body is not valid UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, leadcap.Errorf(leadcap.EBADREQUEST, "the body contains a NUL byte")
	}
	if !json.Valid(b) {
		return nil, syntaxError(b)
	}
	if err := walk(b); err != nil {
		return nil, err
	}
	in := new(Input)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return nil, decodeError(err)
	}
	return in, nil
}

// syntaxError describes why b, which is not valid JSON, is not.
func syntaxError(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	err := dec.Decode(&v)
	var se *json.SyntaxError
	switch {
	case err == io.EOF:
		return leadcap.Errorf(leadcap.EBADREQUEST, "the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return leadcap.Errorf(leadcap.EBADREQUEST, "the JSON body ends too early")
	case errors.As(err, &se):
		return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not valid JSON (error at byte %d)", se.Offset)
	case err == nil:
		return leadcap.Errorf(leadcap.EBADREQUEST, "unexpected data after the JSON value")
	}
	return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not valid JSON")
}

// readBody reads all of r if it is at most limit bytes.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge(tooBig.Limit)
	case err != nil:
		// A client that stops sending or disconnects mid-body; the cause
		// stays in the chain for the log.
		return nil, fmt.Errorf("intake: read body: %w: %w",
			leadcap.Errorf(leadcap.EBADREQUEST, "the request body could not be read"), err)
	case int64(len(b)) > limit:
		return nil, tooLarge(limit)
	case len(b) == 0:
		return nil, leadcap.Errorf(leadcap.EBADREQUEST, "the request body is empty")
	}
	return b, nil
}

func tooLarge(limit int64) error {
	return leadcap.Errorf(leadcap.ETOOLARGE, "the request body is larger than %d bytes", limit)
}

// decodeError turns an error of encoding/json's Decode into a *leadcap.Error.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return &leadcap.Error{
			Code:    leadcap.EBADREQUEST,
			Message: field + " has the wrong type",
			Fields:  map[string]string{field: "must be " + typeName(field, te.Type)},
		}
	}
	// The walk has already checked syntax, keys and nesting, so this is a
	// case it does not know about; it is still the client's doing.
	return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not a valid lead submission")
}

// typeName describes the JSON type a field of Input expects.
func typeName(field string, t reflect.Type) string {
	if field == "interests" {
		return "a list of strings"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// ReadForm reads and parses an application/x-www-form-urlencoded body of at
// most limit bytes (DefaultBodyLimit when limit is 0 or less). A handler
// that needs a form field besides the lead's, such as csrf, reads it from
// the result before passing it to DecodeForm.
func ReadForm(r io.Reader, limit int64) (url.Values, error) {
	b, err := readBody(r, limit)
	if err != nil {
		return nil, err
	}
	values, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, leadcap.Errorf(leadcap.EBADREQUEST, "the form body is malformed")
	}
	return values, nil
}

// DecodeForm decodes a lead submitted by the HTML booth form, which works
// without JavaScript. Field names are those of the JSON body, with these
// differences: "interests" is repeated, one per ticked interest; an answer
// is "answers.<question id>", repeated for a multiple-choice question; and
// consent is "consent_contact" and "consent_marketing" (on, true, yes or 1
// for yes; absent, empty, off, false, no or 0 for no) and "consent_version". The
// form may also send "lang", "kiosk" and "csrf", which DecodeForm ignores;
// any other field, a repeated single-valued field, invalid UTF-8 and NUL
// characters are EBADREQUEST errors.
func DecodeForm(values url.Values) (*Input, error) {
	in := &Input{fromForm: true}
	answers := 0
	// Sorted, so that of several problems the same one is reported each time.
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		vals := values[key]
		if err := checkFormText(key, key); err != nil {
			return nil, err
		}
		for _, v := range vals {
			if err := checkFormText(key, v); err != nil {
				return nil, err
			}
		}
		if dst := formScalar(in, key); dst != nil {
			if len(vals) > 1 {
				return nil, badField(key, "field %q is repeated", key)
			}
			if len(vals) == 1 {
				*dst = vals[0]
			}
			continue
		}
		switch key {
		case "interests":
			if len(vals) > MaxInterests {
				return nil, badField(key, "at most %d interests are allowed", MaxInterests)
			}
			in.Interests = vals
		case "consent_contact", "consent_marketing":
			if len(vals) > 1 {
				return nil, badField(key, "field %q is repeated", key)
			}
			yes, ok := formBool(vals)
			if !ok {
				return nil, badField(key, "field %q must be on or off", key)
			}
			if key == "consent_contact" {
				in.Consent.Contact = yes
			} else {
				in.Consent.Marketing = yes
			}
		case "consent_version":
			if len(vals) > 1 {
				return nil, badField(key, "field %q is repeated", key)
			}
			v, ok := formVersion(vals)
			if !ok {
				return nil, badField(key, "field %q must be a whole number", key)
			}
			in.Consent.Version = v
		case "lang", "kiosk", "csrf":
		default:
			id, ok := strings.CutPrefix(key, "answers.")
			if !ok {
				return nil, badField(key, "unknown field %s", printableKey(key))
			}
			if answers++; answers > MaxAnswers {
				return nil, leadcap.Errorf(leadcap.EBADREQUEST, "at most %d answers are allowed", MaxAnswers)
			}
			if len(vals) > MaxAnswerValues {
				return nil, badField(key, "at most %d values are allowed in one answer", MaxAnswerValues)
			}
			if in.Answers == nil {
				in.Answers = make(map[string]json.RawMessage)
			}
			in.Answers[id] = formAnswer(vals)
		}
	}
	return in, nil
}

// formScalar returns the string field of in that the form field key sets,
// or nil.
func formScalar(in *Input, key string) *string {
	switch key {
	case "conference":
		return &in.Conference
	case "submission_id":
		return &in.SubmissionID
	case "first_name":
		return &in.FirstName
	case "last_name":
		return &in.LastName
	case "email":
		return &in.Email
	case "phone":
		return &in.Phone
	case "company":
		return &in.Company
	case "job_title":
		return &in.JobTitle
	case "country":
		return &in.Country
	case "notes":
		return &in.Notes
	case "source":
		return &in.Source
	case "device_id":
		return &in.DeviceID
	case "website":
		return &in.Website
	case "render_token":
		return &in.RenderToken
	case "pow_nonce":
		return &in.PowNonce
	case "device_token":
		return &in.DeviceToken
	}
	return nil
}

// checkFormText rejects a form key or value that is not valid UTF-8 or
// holds a NUL character: percent-encoding lets a client send any bytes.
func checkFormText(key, s string) error {
	if !utf8.ValidString(s) {
		return badField(key, "field %s is not valid UTF-8", printableKey(key))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return badField(key, "field %s contains a NUL character", printableKey(key))
	}
	return nil
}

// printableKey returns key if it is safe to repeat in a message.
func printableKey(key string) string {
	if !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 || len(key) > 64 {
		return "name"
	}
	return fmt.Sprintf("%q", key)
}

func formBool(vals []string) (yes, ok bool) {
	if len(vals) == 0 {
		return false, true
	}
	switch strings.ToLower(strings.TrimSpace(vals[0])) {
	case "on", "true", "1", "yes":
		return true, true
	case "", "off", "false", "0", "no":
		return false, true
	}
	return false, false
}

func formVersion(vals []string) (int, bool) {
	if len(vals) == 0 {
		return 0, true
	}
	s := strings.TrimSpace(vals[0])
	if len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// formAnswer encodes the values of one answer field as JSON: one value as a
// string, several as a list of strings.
func formAnswer(vals []string) json.RawMessage {
	var b []byte
	if len(vals) == 1 {
		b, _ = json.Marshal(vals[0])
	} else {
		b, _ = json.Marshal(vals)
	}
	return b
}

// badField returns an EBADREQUEST error with a formatted message that names
// the form or JSON field key.
func badField(key, format string, args ...any) error {
	e := leadcap.Errorf(leadcap.EBADREQUEST, format, args...)
	if utf8.ValidString(key) && strings.IndexByte(key, 0) < 0 && len(key) <= 64 {
		e.Fields = map[string]string{key: e.Message}
	}
	return e
}
