package server

import "github.com/leadcap/leadcap/internal/access"

// routes maps leadcap's whole HTTP surface, each route with the permission
// it needs (internal/access holds which role has which).
func (s *Server) routes() {
	// Health, for load balancers and orchestrators.
	s.route("GET /healthz", access.Public, s.handleHealthz)
	s.route("GET /readyz", access.Public, s.handleReadyz)
	// Prometheus metrics, for loopback and LEADCAP_METRICS_ALLOW only.
	s.route("GET /metrics", access.Monitoring, s.handleMetrics)

	// Public: visitors create leads.
	s.route("POST /api/v1/leads", access.Public, s.handleCreateLead)

	// Sign-in and the caller's own account.
	s.route("POST /api/v1/auth/login", access.Public, s.handleLogin)
	s.route("POST /api/v1/auth/mfa", access.Public, s.handleLoginMFA)
	s.route("POST /api/v1/auth/logout", access.SignedIn, s.handleLogout)
	s.route("POST /api/v1/auth/password", access.SignedIn, s.handleChangePassword)
	s.route("GET /api/v1/me", access.SignedIn, s.handleMe)
	s.route("POST /api/v1/me/mfa/enrol", access.SignedIn, s.handleMFAEnrol)
	s.route("POST /api/v1/me/mfa/confirm", access.SignedIn, s.handleMFAConfirm)
	s.route("POST /api/v1/me/mfa/disable", access.Self, s.handleMFADisable)
	s.route("GET /api/v1/me/tokens", access.Self, s.handleMyTokens)
	s.route("POST /api/v1/me/tokens", access.Self, s.handleCreateToken)
	s.route("DELETE /api/v1/me/tokens/{id}", access.Self, s.handleRevokeToken)

	// Users, for admins.
	s.route("GET /api/v1/users", access.UsersManage, s.handleUsers)
	s.route("POST /api/v1/users", access.UsersManage, s.handleCreateUser)
	s.route("GET /api/v1/users/{id}", access.UsersManage, s.handleUser)
	s.route("PATCH /api/v1/users/{id}", access.UsersManage, s.handleUpdateUser)
	s.route("DELETE /api/v1/users/{id}", access.UsersManage, s.handleDeleteUser)
	s.route("POST /api/v1/users/{id}/reset-password", access.UsersManage, s.handleResetPassword)
	s.route("POST /api/v1/users/{id}/mfa-reset", access.UsersManage, s.handleResetMFA)
	s.route("GET /api/v1/users/{id}/auth-events", access.UsersManage, s.handleAuthEvents)

	// The audit trail.
	s.route("GET /api/v1/audit", access.AuditRead, s.handleAudit)

	// The built-in alarms of every server.
	s.route("GET /api/v1/alarms", access.AlarmsRead, s.handleAlarms)

	// Conferences and their QR codes.
	s.route("GET /api/v1/conferences", access.ConferencesRead, s.handleConferences)
	s.route("POST /api/v1/conferences", access.ConferencesWrite, s.handleCreateConference)
	s.route("GET /api/v1/conferences/{id}", access.ConferencesRead, s.handleConference)
	s.route("PATCH /api/v1/conferences/{id}", access.ConferencesWrite, s.handleUpdateConference)
	s.route("POST /api/v1/conferences/{id}/open", access.ConferencesWrite, s.handleOpenConference)
	s.route("POST /api/v1/conferences/{id}/close", access.ConferencesWrite, s.handleCloseConference)
	s.route("DELETE /api/v1/conferences/{id}", access.ConferencesWrite, s.handleDeleteConference) // force: leads:delete
	s.route("GET /api/v1/conferences/{id}/qr.png", access.ConferencesRead, s.handleQRPNG)
	s.route("GET /api/v1/conferences/{id}/qr.svg", access.ConferencesRead, s.handleQRSVG)

	// Leads, for staff.
	s.route("GET /api/v1/leads", access.LeadsRead, s.handleLeads)
	s.route("GET /api/v1/leads/{id}", access.LeadsRead, s.handleLead)
	s.route("PATCH /api/v1/leads/{id}", access.LeadsWrite, s.handleUpdateLead)
	s.route("PATCH /api/v1/leads/{id}/fields", access.LeadsRectify, s.handleRectifyLead)
	s.route("DELETE /api/v1/leads/{id}", access.LeadsDelete, s.handleDeleteLead)

	// The API described, in OpenAPI 3.1.
	s.route("GET /api/v1/openapi.json", access.Public, s.handleOpenAPI)

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.route("/api/", access.Public, s.handleNotFound)
}
