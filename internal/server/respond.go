package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/leadcap/leadcap"
)

// statuses maps each error code to its one HTTP status.
var statuses = map[string]int{
	leadcap.EBADREQUEST:   http.StatusBadRequest,
	leadcap.EUNAUTHORIZED: http.StatusUnauthorized,
	leadcap.EFORBIDDEN:    http.StatusForbidden,
	leadcap.ENOTFOUND:     http.StatusNotFound,
	leadcap.ECONFLICT:     http.StatusConflict,
	leadcap.EGONE:         http.StatusGone,
	leadcap.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	leadcap.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	leadcap.EINVALID:      http.StatusUnprocessableEntity,
	leadcap.ETOOMANY:      http.StatusTooManyRequests,
	leadcap.EINTERNAL:     http.StatusInternalServerError,
	leadcap.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// ErrorStatus returns the HTTP status for err.
func ErrorStatus(err error) int {
	if st, ok := statuses[leadcap.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// writeError answers err as JSON. Internal errors are logged with their
// cause and shown to the client only as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, component string, err error) {
	code := leadcap.ErrorCode(err)
	status := ErrorStatus(err)
	if status >= 500 {
		s.Log.ErrorContext(r.Context(), "request failed", "component", component, "request_id", requestID(r.Context()),
			"route", r.Pattern, "err", err)
		s.Metrics.Error(component)
	}
	if status == http.StatusTooManyRequests {
		s.Metrics.RateLimited(component)
	}
	var retry interface{ RetryAfter() time.Duration }
	if errors.As(err, &retry) {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.RetryAfter()/time.Second)))
	}
	if s.pages[r.Pattern] {
		s.pageError(w, r, err)
		return
	}
	var le *leadcap.Error
	if !errors.As(err, &le) {
		code = leadcap.EINTERNAL
	}
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: leadcap.ErrorMessage(err), Fields: leadcap.ErrorFields(err)}})
}

// writeJSON answers v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, "http", leadcap.Errorf(leadcap.ENOTFOUND, "no such route: %s %s", r.Method, r.URL.Path))
}
