package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/store"
)

// usersPage lists users, with the form to add one.
type usersPage struct {
	page
	Users  []*leadcap.User
	Roles  []option
	Form   identity.NewUser
	Secret *secretView
}

func roleOptions(current string) []option {
	return options(current, string(leadcap.RoleStaff), "Staff: conferences and leads", string(leadcap.RoleViewer), "Viewer: read only",
		string(leadcap.RoleAdmin), "Admin: everything")
}

func (s *Server) usersPage(r *http.Request) (*usersPage, error) {
	list, err := s.Identity.Users(r.Context())
	if err != nil {
		return nil, err
	}
	return &usersPage{page: s.newPage(r, "Users", "users"), Users: list, Roles: roleOptions("staff")}, nil
}

// handleUsersPage is GET /users.
func (s *Server) handleUsersPage(w http.ResponseWriter, r *http.Request) {
	up, err := s.usersPage(r)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "users", up)
}

// handleCreateUserForm is POST /users: the new user's temporary password
// is shown on the page that answers, once; it is not put in a URL.
func (s *Server) handleCreateUserForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	in := identity.NewUser{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role")}
	p := access.FromContext(r.Context())
	u, temp, err := s.Identity.CreateUser(r.Context(), actor(r, p.User), in)
	up, lerr := s.usersPage(r)
	if lerr != nil {
		s.writeError(w, r, "console", lerr)
		return
	}
	if err != nil {
		up.withError(err)
		up.Form, up.Roles = in, roleOptions(in.Role)
		s.render(w, r, ErrorStatus(err), "users", up)
		return
	}
	up.Secret = &secretView{Title: "Temporary password for " + u.Email,
		Text:   "Give it to them privately. It is shown only now; they choose their own password at first sign-in.",
		Secret: temp, Expires: u.PasswordExpiresAt.UTC().Format("2 Jan 2006 15:04 UTC")}
	s.render(w, r, http.StatusOK, "users", up)
}

// userPage is one user with the admin's actions.
type userPage struct {
	page
	U      *leadcap.User
	Roles  []option
	Events []*leadcap.AuditEvent
	Secret *secretView
}

func (s *Server) userPage(r *http.Request, id string) (*userPage, error) {
	u, err := s.Identity.User(r.Context(), id)
	if err != nil {
		return nil, err
	}
	events, _, err := s.Identity.AuthEvents(r.Context(), u.ID, 20, 0)
	if err != nil {
		return nil, err
	}
	return &userPage{page: s.newPage(r, u.Email, "users"), U: u, Roles: roleOptions(string(u.Role)), Events: events}, nil
}

// handleUserPage is GET /users/{id}.
func (s *Server) handleUserPage(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r, "done"); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	up, err := s.userPage(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "user", up)
}

// userChange applies an admin's change to a user and sends the browser
// back to the user's page, or shows the problem there.
func (s *Server) userChange(w http.ResponseWriter, r *http.Request, c identity.UserChange, done string) {
	p := access.FromContext(r.Context())
	id := r.PathValue("id")
	if _, err := s.Identity.UpdateUser(r.Context(), actor(r, p.User), id, c); err != nil {
		up, perr := s.userPage(r, id)
		if perr != nil {
			s.writeError(w, r, "console", perr)
			return
		}
		up.withError(err)
		s.render(w, r, ErrorStatus(err), "user", up)
		return
	}
	seeOther(w, r, "/users/"+id+"?done="+done)
}

// handleUserStatusForm is POST /users/{id}/status: disable or enable.
func (s *Server) handleUserStatusForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	status := r.PostForm.Get("status")
	done := map[string]string{leadcap.UserDisabled: "disabled", leadcap.UserActive: "enabled"}[status]
	s.userChange(w, r, identity.UserChange{Status: &status}, done)
}

// handleUserRoleForm is POST /users/{id}/role.
func (s *Server) handleUserRoleForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	role := r.PostForm.Get("role")
	s.userChange(w, r, identity.UserChange{Role: &role}, "role")
}

// handleResetPasswordForm is POST /users/{id}/reset-password: the new
// temporary password is shown once on the page that answers.
func (s *Server) handleResetPasswordForm(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	id := r.PathValue("id")
	temp, expires, err := s.Identity.ResetPassword(r.Context(), actor(r, p.User), id)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	up, err := s.userPage(r, id)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	up.Secret = &secretView{Title: "New temporary password for " + up.U.Email,
		Text: "Their sessions have ended. Give it to them privately; it is shown only now.", Secret: temp,
		Expires: expires.UTC().Format("2 Jan 2006 15:04 UTC")}
	s.render(w, r, http.StatusOK, "user", up)
}

// handleResetMFAForm is POST /users/{id}/mfa-reset.
func (s *Server) handleResetMFAForm(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	if _, err := s.Identity.ResetMFA(r.Context(), actor(r, p.User), r.PathValue("id")); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	seeOther(w, r, "/users/"+r.PathValue("id")+"?done=mfa-reset")
}

// auditPage is the audit trail with its filters.
type auditPage struct {
	page
	F             store.AuditFilter
	Since, Until  string
	ResultOptions []option
	Events        []*leadcap.AuditEvent
	NextURL       string
}

// handleAuditPage is GET /audit: the trail, newest first, filtered as the
// API's (days for since and until).
func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "actor", "action", "target", "result", "since", "until", "cursor")
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	_, before, err := pageParams(q)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	fields := map[string]string{}
	f := store.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Result: q.Get("result"),
		Since: dayOrTime(q, "since", time.UTC, false, fields), Until: dayOrTime(q, "until", time.UTC, true, fields),
		Limit: 50, Before: before}
	if err := checkAuditFilter(f, fields); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	events, next, err := s.Store.AuditEvents(r.Context(), f)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	ap := auditPage{page: s.newPage(r, "Audit trail", "audit"), F: f, Since: q.Get("since"), Until: q.Get("until"), Events: events,
		ResultOptions: options(f.Result, "", "Any", leadcap.AuditSuccess, "Success", leadcap.AuditFailure, "Failure", leadcap.AuditDenied, "Denied")}
	if next != "" {
		nq := url.Values{}
		for k, v := range q {
			if k != "cursor" && v[0] != "" {
				nq.Set(k, v[0])
			}
		}
		nq.Set("cursor", next)
		ap.NextURL = "/audit?" + nq.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", ap)
}
