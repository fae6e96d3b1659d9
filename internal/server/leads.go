package server

import (
	"net/http"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/intake"
)

// handleCreateLead is POST /api/v1/leads, the public lead submission. It
// answers 201 for a new lead, 200 for a merge, and the first answer again
// for a repeated submission_id. A 2xx means the lead is committed to disk.
func (s *Server) handleCreateLead(w http.ResponseWriter, r *http.Request) {
	in, err := intake.DecodeRequest(r, s.MaxBodyBytes)
	if err != nil {
		s.Metrics.ValidationFailed(leadcap.ErrorFields(err))
		s.writeError(w, r, "leads", err)
		return
	}
	// An API client whose token may write leads may claim any source
	// (staff, api, import); the public only form or kiosk. Such an
	// integration also skips the form abuse defences, which are for the
	// public form.
	p := access.FromContext(r.Context())
	trusted := p != nil && p.Via == access.ViaToken && p.Can(access.LeadsWrite)
	res, _, err := s.Capture.Submit(r.Context(), in, capture.Meta{ClientIP: clientIP(r.Context()).String(),
		Trusted: trusted, Route: r.Pattern})
	if err != nil {
		s.Metrics.ValidationFailed(leadcap.ErrorFields(err))
		s.writeError(w, r, "leads", err)
		return
	}
	status := http.StatusOK
	if res.Result == leadcap.ResultCreated {
		status = http.StatusCreated
	}
	writeCaptureResult(w, status, res)
}

// writeCaptureResult answers a capture as writeJSON would, without its
// reflection: this is the answer to every lead. A lead id is a UUID and a
// result a fixed word, so neither needs escaping; anything else goes the
// general way.
func writeCaptureResult(w http.ResponseWriter, status int, res leadcap.CaptureResult) {
	if !plainJSON(res.LeadID) || !plainJSON(res.Result) {
		writeJSON(w, status, res)
		return
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"id":"`...)
	b = append(b, res.LeadID...)
	b = append(b, `","status":"`...)
	b = append(b, res.Result...)
	b = append(b, "\"}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// plainJSON reports whether s can stand between JSON quotes as it is.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
