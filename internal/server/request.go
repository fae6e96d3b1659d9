package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
)

// Body limits of the API's JSON requests and of HTML forms.
const (
	maxJSONBody = 16 << 10
	maxFormBody = 64 << 10
)

// decodeJSON decodes the request body, a single JSON object of at most
// maxJSONBody bytes, into v, refusing unknown fields and trailing data.
func decodeJSON(r *http.Request, v any) error { return decodeJSONLimit(r, v, maxJSONBody) }

// decodeJSONLimit is decodeJSON with a body limit of its own.
func decodeJSONLimit(r *http.Request, v any, limit int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return leadcap.Errorf(leadcap.EUNSUPPORTED, "send the request body as application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return leadcap.Errorf(leadcap.EBADREQUEST, "the body must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonError turns a decoding error into a clear *leadcap.Error.
func jsonError(err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &tooLarge):
		return leadcap.Errorf(leadcap.ETOOLARGE, "the body is larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return leadcap.Errorf(leadcap.EBADREQUEST, "the request body is empty")
	case errors.As(err, &typeErr):
		return &leadcap.Error{Code: leadcap.EBADREQUEST, Message: "a field has the wrong type",
			Fields: map[string]string{typeErr.Field: "must be " + typeErr.Type.String()}}
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &leadcap.Error{Code: leadcap.EBADREQUEST, Message: "unknown field",
			Fields: map[string]string{field: "is not a field of this request"}}
	}
	return leadcap.Errorf(leadcap.EBADREQUEST, "the body is not a JSON object of the expected form")
}

// query reads a request's query parameters, refusing any not in allowed
// and any given twice.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, leadcap.Errorf(leadcap.EBADREQUEST, "the query string is malformed")
	}
	for k, v := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return nil, &leadcap.Error{Code: leadcap.EBADREQUEST, Message: "unknown query parameter",
				Fields: map[string]string{k: "is not a parameter here; allowed: " + strings.Join(allowed, ", ")}}
		}
		if len(v) > 1 {
			return nil, &leadcap.Error{Code: leadcap.EBADREQUEST, Message: "repeated query parameter",
				Fields: map[string]string{k: "is given more than once"}}
		}
	}
	return q, nil
}

// pageParams reads the limit and cursor parameters of a listing.
func pageParams(q url.Values) (limit int, before int64, err error) {
	fields := map[string]string{}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			fields["limit"] = "must be a whole number from 1 to 500"
		}
	}
	if v := q.Get("cursor"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			fields["cursor"] = "must be the next cursor of the previous page"
		}
	}
	return limit, before, badQuery(fields)
}

// timeParam reads an RFC 3339 time parameter.
func timeParam(q url.Values, name string, fields map[string]string) time.Time {
	v := q.Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		fields[name] = "must be a time like 2027-03-01T09:00:00Z"
	}
	return t
}

// badQuery is a 400 naming each bad parameter, or nil.
func badQuery(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &leadcap.Error{Code: leadcap.EBADREQUEST, Message: "some query parameters are not valid", Fields: fields}
}

// actor describes the caller of r for the audit trail.
func actor(r *http.Request, u *leadcap.User) identity.Actor {
	a := identity.Actor{UserAgent: r.UserAgent()}
	if ip := clientIP(r.Context()); ip.IsValid() {
		a.ClientIP = ip.String()
	}
	if u != nil {
		a.UserID, a.Email = u.ID, u.Email
	}
	return a
}
