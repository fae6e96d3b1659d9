package server

import (
	"net/http"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

// handleAudit is GET /api/v1/audit: the audit trail, newest first, filtered
// by actor (user id), action (and actions under it), target, result and
// time (since, until), a page at a time (limit, cursor).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "actor", "action", "target", "result", "since", "until", "limit", "cursor")
	if err != nil {
		s.writeError(w, r, "audit", err)
		return
	}
	limit, before, err := pageParams(q)
	if err != nil {
		s.writeError(w, r, "audit", err)
		return
	}
	fields := map[string]string{}
	f := store.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Result: q.Get("result"),
		Since: timeParam(q, "since", fields), Until: timeParam(q, "until", fields), Limit: limit, Before: before}
	if err := checkAuditFilter(f, fields); err != nil {
		s.writeError(w, r, "audit", err)
		return
	}
	events, next, err := s.Store.AuditEvents(r.Context(), f)
	if err != nil {
		s.writeError(w, r, "audit", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "next": next})
}

// checkAuditFilter adds to fields what is wrong with f's result and
// lengths, and returns them as one error, or nil.
func checkAuditFilter(f store.AuditFilter, fields map[string]string) error {
	switch f.Result {
	case "", leadcap.AuditSuccess, leadcap.AuditFailure, leadcap.AuditDenied:
	default:
		fields["result"] = "must be success, failure or denied"
	}
	for name, v := range map[string]string{"actor": f.ActorID, "action": f.Action, "target": f.Target} {
		if len(v) > 256 {
			fields[name] = "is too long"
		}
	}
	return badQuery(fields)
}
