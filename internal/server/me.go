package server

import (
	"net/http"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/identity"
)

// handleMe is GET /api/v1/me: the caller, what they may do, and their
// session's CSRF token.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	left := 0
	if p.User.MFAEnabled {
		var err error
		if left, err = s.Identity.RecoveryCodesLeft(r.Context(), p.User.ID); err != nil {
			s.writeError(w, r, "auth", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		User              *leadcap.User       `json:"user"`
		Via               string              `json:"via"`
		Permissions       []access.Permission `json:"permissions"`
		Restriction       string              `json:"restriction,omitempty"`
		CSRFToken         string              `json:"csrf_token,omitempty"`
		RecoveryCodesLeft int                 `json:"recovery_codes_left,omitempty"`
	}{p.User, p.Via, p.Permissions(), p.Restriction, p.CSRFToken, left})
}

// handleMFAEnrol is POST /api/v1/me/mfa/enrol: a new TOTP secret, as text,
// otpauth URI and QR code, pending until confirmed.
func (s *Server) handleMFAEnrol(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	e, err := s.Identity.EnrolMFA(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// handleMFAConfirm is POST /api/v1/me/mfa/confirm: a code from the app
// turns MFA on; the answer holds the recovery codes, shown once.
func (s *Server) handleMFAConfirm(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	p := access.FromContext(r.Context())
	codes, err := s.Identity.ConfirmMFA(r.Context(), actor(r, p.User), p.User.ID, in.Code)
	if err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mfa_enabled": true, "recovery_codes": codes})
}

// handleMFADisable is POST /api/v1/me/mfa/disable with a TOTP code or a
// recovery code.
func (s *Server) handleMFADisable(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	p := access.FromContext(r.Context())
	if err := s.Identity.DisableMFA(r.Context(), actor(r, p.User), p.User.ID, in.Code, in.RecoveryCode); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mfa_enabled": false})
}

// handleMyTokens is GET /api/v1/me/tokens.
func (s *Server) handleMyTokens(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	list, err := s.Identity.Tokens(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
}

// handleCreateToken is POST /api/v1/me/tokens: name and lifetime ("30d");
// the answer holds the token, shown once.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string `json:"name"`
		Expires string `json:"expires"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	ttl, err := identity.ParseTTL(in.Expires)
	if err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	p := access.FromContext(r.Context())
	secret, t, err := s.Identity.CreateToken(r.Context(), actor(r, p.User), p.User.ID, in.Name, ttl)
	if err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "info": t})
}

// handleRevokeToken is DELETE /api/v1/me/tokens/{id}: one of the caller's
// own tokens stops working at once.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	if _, err := s.Identity.RevokeToken(r.Context(), actor(r, p.User), p.User.ID, r.PathValue("id")); err != nil {
		s.writeError(w, r, "auth", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
