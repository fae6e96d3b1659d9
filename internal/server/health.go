package server

import (
	"context"
	"net/http"
	"time"
)

// handleHealthz answers while the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when leads can be taken: the database is
// writable with the schema this build knows, and the outbox keeps up.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	fail := func(name, msg string) { checks[name], ok = msg, false }
	if err := s.Store.CheckWritable(ctx); err != nil {
		fail("database", "not writable")
		s.Log.ErrorContext(ctx, "readiness: database", "component", "http", "request_id", requestID(ctx), "err", err)
		s.Metrics.Error("http")
	} else {
		checks["database"] = "ok"
	}
	if err := s.Store.CheckSchema(ctx); err != nil {
		fail("schema", err.Error())
	} else {
		checks["schema"] = "ok"
	}
	if _, oldest, err := s.Store.OutboxStats(ctx); err != nil {
		fail("outbox", "unknown")
	} else if !oldest.IsZero() && s.Now().Sub(oldest) > s.OutboxMaxLag {
		fail("outbox", "oldest raw copy waits "+s.Now().Sub(oldest).Round(time.Second).String())
	} else {
		checks["outbox"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}
