package server

// routes maps leadcap's whole HTTP surface.
func (s *Server) routes() {
	// Health, for load balancers and orchestrators.
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	// Operators' monitoring: loopback and LEADCAP_METRICS_ALLOW only.
	s.mux.HandleFunc("GET /metrics", s.internalOnly(s.Metrics.Handler().ServeHTTP))

	// Public: visitors create leads.
	s.mux.HandleFunc("POST /api/v1/leads", s.handleCreateLead)

	// Alarms: served like /metrics until its permission is attached.
	s.mux.HandleFunc("GET /api/v1/alarms", s.internalOnly(s.handleAlarms))

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.mux.HandleFunc("/api/", s.handleNotFound)
}
