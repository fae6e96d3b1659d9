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
	s.route("GET /static/{file}", access.Public, s.handleStatic) // the form's and the console's

	// The shield's block and allow rules and its block record, for admins.
	s.route("GET /api/v1/shield/rules", access.ShieldManage, s.handleShieldRules)
	s.route("POST /api/v1/shield/rules", access.ShieldManage, s.handleAddShieldRule)
	s.route("DELETE /api/v1/shield/rules/{id}", access.ShieldManage, s.handleDeleteShieldRule)
	s.route("GET /api/v1/shield/blocks", access.ShieldManage, s.handleShieldBlocks)
	s.route("GET /api/v1/shield/quarantine", access.ShieldManage, s.handleQuarantine)

	// Exports, for those with leads:export. A download link is signed and
	// expires: the link is its permission, like a presigned URL.
	s.route("POST /api/v1/exports", access.LeadsExport, s.handleCreateExport)
	s.route("GET /api/v1/exports", access.LeadsExport, s.handleListExports)
	s.route("GET /api/v1/exports/{id}", access.LeadsExport, s.handleGetExport)
	s.route("DELETE /api/v1/exports/{id}", access.LeadsExport, s.handleDeleteExport)
	s.route("GET /api/v1/exports/{id}/download", access.Public, s.handleDownloadExport)

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

	// The console: pages for staff and admins (internal/web renders them).
	s.page("GET /login", access.Public, s.handleLoginPage)
	s.page("POST /login", access.Public, s.handleLoginForm)
	s.page("POST /login/mfa", access.Public, s.handleLoginMFAForm)
	s.page("POST /logout", access.SignedIn, s.handleLogoutForm)
	s.page("GET /password", access.SignedIn, s.handlePasswordPage)
	s.page("POST /password", access.SignedIn, s.handlePasswordForm)
	s.page("GET /account", access.SignedIn, s.handleAccountPage)
	s.page("POST /account/mfa/enrol", access.SignedIn, s.handleMFAEnrolForm)
	s.page("POST /account/mfa/confirm", access.SignedIn, s.handleMFAConfirmForm)
	s.page("POST /account/mfa/disable", access.Self, s.handleMFADisableForm)
	s.page("POST /account/tokens", access.Self, s.handleTokenForm)
	s.page("POST /account/tokens/{id}/revoke", access.Self, s.handleRevokeTokenForm)
	s.page("GET /{$}", access.LeadsRead, s.handleDashboard)
	s.page("GET /conferences", access.ConferencesRead, s.handleConferencesPage)
	s.page("GET /conferences/new", access.ConferencesWrite, s.handleNewConferencePage)
	s.page("POST /conferences", access.ConferencesWrite, s.handleCreateConferenceForm)
	s.page("GET /conferences/{id}", access.ConferencesRead, s.handleConferencePage)
	s.page("GET /conferences/{id}/edit", access.ConferencesWrite, s.handleEditConferencePage)
	s.page("POST /conferences/{id}/edit", access.ConferencesWrite, s.handleEditConferenceForm)
	s.page("POST /conferences/{id}/open", access.ConferencesWrite, s.handleOpenForm)
	s.page("POST /conferences/{id}/close", access.ConferencesWrite, s.handleCloseForm)
	s.page("POST /conferences/{id}/delete", access.ConferencesWrite, s.handleDeleteConferenceForm) // force: leads:delete
	s.page("GET /conferences/{id}/sign", access.ConferencesRead, s.handleSignPage)
	s.page("GET /leads", access.LeadsRead, s.handleLeadsPage)
	s.page("POST /leads/export", access.LeadsExport, s.handleExportForm)
	s.page("GET /exports/{id}", access.LeadsExport, s.handleExportPage)
	s.page("GET /leads/{id}", access.LeadsRead, s.handleLeadPage)
	s.page("POST /leads/{id}", access.LeadsWrite, s.handleLeadForm)
	s.page("GET /leads/{id}/edit", access.LeadsRectify, s.handleLeadEditPage)
	s.page("POST /leads/{id}/fields", access.LeadsRectify, s.handleRectifyForm)
	s.page("POST /leads/{id}/delete", access.LeadsDelete, s.handleDeleteLeadForm)
	s.page("GET /users", access.UsersManage, s.handleUsersPage)
	s.page("POST /users", access.UsersManage, s.handleCreateUserForm)
	s.page("GET /users/{id}", access.UsersManage, s.handleUserPage)
	s.page("POST /users/{id}/status", access.UsersManage, s.handleUserStatusForm)
	s.page("POST /users/{id}/role", access.UsersManage, s.handleUserRoleForm)
	s.page("POST /users/{id}/reset-password", access.UsersManage, s.handleResetPasswordForm)
	s.page("POST /users/{id}/mfa-reset", access.UsersManage, s.handleResetMFAForm)
	s.page("GET /audit", access.AuditRead, s.handleAuditPage)

	// Anything else under the API is a JSON 404, not the mux's text one.
	s.route("/api/", access.Public, s.handleNotFound)
}
