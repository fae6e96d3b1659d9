package server

import (
	"net/http"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/identity"
)

// sessionResponse answers a completed sign-in, or the first step of one
// that needs a second factor.
type sessionResponse struct {
	User                   *leadcap.User `json:"user,omitempty"`
	CSRFToken              string        `json:"csrf_token,omitempty"`
	ExpiresAt              time.Time     `json:"expires_at,omitzero"`
	PasswordChangeRequired bool          `json:"password_change_required,omitempty"`
	MFAEnrolmentRequired   bool          `json:"mfa_enrolment_required,omitempty"`
	MFARequired            bool          `json:"mfa_required,omitempty"`
	Ticket                 string        `json:"ticket,omitempty"`
	TicketExpiresAt        time.Time     `json:"ticket_expires_at,omitzero"`
}

// answerSignIn sets the session and device cookies of res and answers it.
func (s *Server) answerSignIn(w http.ResponseWriter, r *http.Request, res *identity.LoginResult) {
	if res.MFATicket != "" {
		writeJSON(w, http.StatusOK, sessionResponse{MFARequired: true, Ticket: res.MFATicket, TicketExpiresAt: res.TicketExpiresAt})
		return
	}
	if res.SessionToken != "" {
		s.setSessionCookie(w, r, res.SessionToken, res.ExpiresAt)
		s.setDeviceCookie(w, r, res.Device)
	}
	writeJSON(w, http.StatusOK, sessionResponse{User: res.User, CSRFToken: res.CSRFToken, ExpiresAt: res.ExpiresAt,
		PasswordChangeRequired: res.Restriction == access.MustChangePassword,
		MFAEnrolmentRequired:   res.Restriction == access.MustEnrolMFA})
}

// handleLogin is POST /api/v1/auth/login: email and password, answered by
// a session, or by mfa_required and a ticket for POST /api/v1/auth/mfa.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.Identity == nil {
		s.writeError(w, r, "auth", leadcap.Errorf(leadcap.EUNAVAILABLE, "sign-in is not available"))
		return
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	res, err := s.Identity.Login(r.Context(), actor(r, nil), in.Email, in.Password, deviceCookieValue(r))
	if err != nil {
		s.countFailedLogin(err)
		s.writeError(w, r, "auth", err)
		return
	}
	s.answerSignIn(w, r, res)
}

// countFailedLogin counts a sign-in refused for its credentials (not one
// throttled or malformed).
func (s *Server) countFailedLogin(err error) {
	if leadcap.ErrorCode(err) == leadcap.EUNAUTHORIZED {
		s.Metrics.FailedLogin()
	}
}

// handleLoginMFA is POST /api/v1/auth/mfa: the ticket from login and a
// TOTP code or a recovery code.
func (s *Server) handleLoginMFA(w http.ResponseWriter, r *http.Request) {
	if s.Identity == nil {
		s.writeError(w, r, "auth", leadcap.Errorf(leadcap.EUNAVAILABLE, "sign-in is not available"))
		return
	}
	var in struct {
		Ticket       string `json:"ticket"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	res, err := s.Identity.LoginMFA(r.Context(), actor(r, nil), in.Ticket, in.Code, in.RecoveryCode, deviceCookieValue(r))
	if err != nil {
		s.countFailedLogin(err)
		s.writeError(w, r, "auth", err)
		return
	}
	s.answerSignIn(w, r, res)
}

// handleLogout is POST /api/v1/auth/logout: the session ends.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	if err := s.Identity.Logout(r.Context(), actor(r, p.User), p); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// handleChangePassword is POST /api/v1/auth/password: the current and a
// new password. Every session of the user ends; a caller with a session
// gets a new one.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	p := access.FromContext(r.Context())
	res, err := s.Identity.ChangePassword(r.Context(), actor(r, p.User), p, in.Current, in.New)
	if err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	s.answerSignIn(w, r, res)
}
