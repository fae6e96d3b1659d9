package server

import (
	"net/http"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/export"
)

// exportPage is one export's state, with its download link when done.
type exportPage struct {
	page
	View    export.View
	Running bool
}

// handleExportForm is POST /leads/export: the leads the table shows, by
// conference and days (rating, tags and search do not narrow an export),
// in the format chosen. The answer is the export's page.
func (s *Server) handleExportForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	if s.Exports == nil {
		s.writeError(w, r, "console", leadcap.Errorf(leadcap.EUNAVAILABLE, "exports are not available"))
		return
	}
	f := r.PostForm
	req := export.Request{Format: f.Get("format"), Conference: f.Get("conference"), Since: f.Get("since"), Until: f.Get("until"),
		IncludeSpam: f.Get("spam") == "include"}
	e, err := s.Exports.Create(r.Context(), req, exportMeta(r))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	seeOther(w, r, "/exports/"+e.ID)
}

// handleExportPage is GET /exports/{id}: the export's state; the page
// reloads itself while the export runs.
func (s *Server) handleExportPage(w http.ResponseWriter, r *http.Request) {
	e, err := s.Exports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "export", exportPage{page: s.newPage(r, "Export", "leads"), View: s.Exports.View(e, 0),
		Running: e.Status == leadcap.ExportRunning})
}
