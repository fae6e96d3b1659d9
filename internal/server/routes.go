package server

// routes maps leadcap's whole HTTP surface.
func (s *Server) routes() {
	// Health, for load balancers and orchestrators.
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)

	// Public: visitors create leads.
	s.mux.HandleFunc("POST /api/v1/leads", s.handleCreateLead)

	// Exports (leads:export, once routes declare permissions). A download
	// link is signed: it needs no session.
	s.mux.HandleFunc("POST /api/v1/exports", s.handleCreateExport)
	s.mux.HandleFunc("GET /api/v1/exports", s.handleListExports)
	s.mux.HandleFunc("GET /api/v1/exports/{id}", s.handleGetExport)
	s.mux.HandleFunc("DELETE /api/v1/exports/{id}", s.handleDeleteExport)
	s.mux.HandleFunc("GET /api/v1/exports/{id}/download", s.handleDownloadExport)

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.mux.HandleFunc("/api/", s.handleNotFound)
}
