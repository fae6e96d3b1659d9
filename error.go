package leadcap

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in internal/server; handlers never
// pick a status by hand.
const (
	EBADREQUEST   = "bad_request"       // malformed request: 400
	EUNAUTHORIZED = "unauthorized"      // no or bad credentials: 401
	EFORBIDDEN    = "forbidden"         // authenticated but not allowed: 403
	ENOTFOUND     = "not_found"         // 404
	ECONFLICT     = "conflict"          // state does not allow it: 409
	EGONE         = "gone"              // expired: 410
	ETOOLARGE     = "too_large"         // body over its limit: 413
	EUNSUPPORTED  = "unsupported_media" // content type not accepted: 415
	EINVALID      = "invalid"           // well-formed but fails validation: 422
	ETOOMANY      = "too_many_requests" // rate limited: 429
	EINTERNAL     = "internal"          // anything else: 500
	EUNAVAILABLE  = "unavailable"       // dependency down: 503
)

// Error is leadcap's one error type for failures a caller may show to a user.
// Message is safe to show; Fields names each bad input field with its problem.
// Any other error is internal: users see "internal error" and the log has it.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("leadcap: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("leadcap: %s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors returns an EINVALID error naming each bad field, or nil when
// fields is empty.
func FieldErrors(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "some fields are not valid", Fields: fields}
}

// ErrorCode returns the code of err if it wraps an *Error, else EINTERNAL.
// A nil error has no code.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, or "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the per-field problems of err, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
