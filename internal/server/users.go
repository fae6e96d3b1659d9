package server

import (
	"net/http"
	"time"

	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/identity"
)

// handleUsers is GET /api/v1/users.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	list, err := s.Identity.Users(r.Context())
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": list})
}

// handleCreateUser is POST /api/v1/users: email, name, role and granted
// permissions; the answer holds the temporary password, shown once.
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var in identity.NewUser
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	p := access.FromContext(r.Context())
	u, temp, err := s.Identity.CreateUser(r.Context(), actor(r, p.User), in)
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u, "temporary_password": temp,
		"temporary_password_expires_at": u.PasswordExpiresAt})
}

// handleUser is GET /api/v1/users/{id}.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.Identity.User(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// handleUpdateUser is PATCH /api/v1/users/{id}: any of name, role, status
// (active or disabled) and permissions.
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	var in identity.UserChange
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	p := access.FromContext(r.Context())
	u, err := s.Identity.UpdateUser(r.Context(), actor(r, p.User), r.PathValue("id"), in)
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// handleDeleteUser is DELETE /api/v1/users/{id}.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	if err := s.Identity.DeleteUser(r.Context(), actor(r, p.User), r.PathValue("id")); err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleResetPassword is POST /api/v1/users/{id}/reset-password: a new
// temporary password, shown once; the user's sessions end.
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	temp, expires, err := s.Identity.ResetPassword(r.Context(), actor(r, p.User), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Password  string    `json:"temporary_password"`
		ExpiresAt time.Time `json:"temporary_password_expires_at"`
	}{temp, expires})
}

// handleResetMFA is POST /api/v1/users/{id}/mfa-reset: the user's MFA is
// turned off, for one who lost their authenticator.
func (s *Server) handleResetMFA(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	u, err := s.Identity.ResetMFA(r.Context(), actor(r, p.User), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// handleAuthEvents is GET /api/v1/users/{id}/auth-events: the user's
// sign-ins, MFA and password changes and tokens, newest first.
func (s *Server) handleAuthEvents(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "limit", "cursor")
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	limit, before, err := pageParams(q)
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	events, next, err := s.Identity.AuthEvents(r.Context(), r.PathValue("id"), limit, before)
	if err != nil {
		s.writeError(w, r, "users", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "next": next})
}
