package server

import "github.com/leadcap/leadcap/internal/web"

// routes maps leadcap's whole HTTP surface.
func (s *Server) routes() {
	// Health, for load balancers and orchestrators.
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)

	// Public: visitors create leads.
	s.mux.HandleFunc("POST /api/v1/leads", s.handleCreateLead)

	// Public: the booth form (internal/web); JavaScript submits to the API.
	s.mux.HandleFunc("GET /c/{slug}", s.booth.ServeForm)
	s.mux.HandleFunc("POST /c/{slug}", s.booth.Submit)
	s.mux.HandleFunc("GET "+web.WorkerPath, s.booth.ServeWorker)
	s.mux.HandleFunc("GET /static/{file}", s.booth.ServeStatic)

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.mux.HandleFunc("/api/", s.handleNotFound)
}
