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
	writeJSON(w, status, res)
}
