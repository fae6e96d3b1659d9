package server

import (
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/web"
)

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
	s.route("GET /api/v1/conferences/{slug}/form-token", access.Public, s.handleFormToken)

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

	// Public: the booth form (internal/web); JavaScript submits to the API.
	s.route("GET /c/{slug}", access.Public, s.booth.ServeForm)
	s.route("POST /c/{slug}", access.Public, s.booth.Submit)
	s.route("GET "+web.WorkerPath, access.Public, s.booth.ServeWorker)
	s.route("GET /static/{file}", access.Public, s.booth.ServeStatic)

	// The shield's block and allow rules and its block record, for admins.
	s.route("GET /api/v1/shield/rules", access.ShieldManage, s.handleShieldRules)
	s.route("POST /api/v1/shield/rules", access.ShieldManage, s.handleAddShieldRule)
	s.route("DELETE /api/v1/shield/rules/{id}", access.ShieldManage, s.handleDeleteShieldRule)
	s.route("GET /api/v1/shield/blocks", access.ShieldManage, s.handleShieldBlocks)
	s.route("GET /api/v1/shield/quarantine", access.ShieldManage, s.handleQuarantine)
	// The built-in alarms of every server.
	s.route("GET /api/v1/alarms", access.AlarmsRead, s.handleAlarms)

	// Exports, for those with leads:export. A download link is signed and
	// expires: the link is its permission, like a presigned URL.
	s.route("POST /api/v1/exports", access.LeadsExport, s.handleCreateExport)
	s.route("GET /api/v1/exports", access.LeadsExport, s.handleListExports)
	s.route("GET /api/v1/exports/{id}", access.LeadsExport, s.handleGetExport)
	s.route("DELETE /api/v1/exports/{id}", access.LeadsExport, s.handleDeleteExport)
	s.route("GET /api/v1/exports/{id}/download", access.Public, s.handleDownloadExport)

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.route("/api/", access.Public, s.handleNotFound)
}
