package server

// routes maps leadcap's whole HTTP surface.
func (s *Server) routes() {
	// Health, for load balancers and orchestrators.
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)

	// Public: visitors create leads.
	s.mux.HandleFunc("POST /api/v1/leads", s.handleCreateLead)

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.mux.HandleFunc("/api/", s.handleNotFound)
}
