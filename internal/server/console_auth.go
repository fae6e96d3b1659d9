package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/identity"
)

// loginPage is the sign-in form, or its MFA step when Ticket is set.
type loginPage struct {
	page
	Email  string
	Next   string
	Ticket string
}

// handleLoginPage is GET /login.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "next", "done")
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "login", loginPage{page: s.newPage(r, "Sign in", ""), Next: safeNext(q.Get("next"))})
}

// sameOrigin refuses a sign-in form posted from another site (login
// CSRF): a browser that says where a form came from must say here.
func (s *Server) sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		if ref := r.Header.Get("Referer"); ref != "" {
			if u, err := url.Parse(ref); err == nil {
				origin = u.Scheme + "://" + u.Host
			}
		}
	}
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != r.Host {
		if s.PublicURL == "" || !strings.EqualFold(strings.TrimRight(s.PublicURL, "/"), origin) {
			return leadcap.Errorf(leadcap.EFORBIDDEN, "sign in from leadcap's own page")
		}
	}
	return nil
}

// handleLoginForm is POST /login: email and password, then the MFA step
// or a session.
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	lp := loginPage{page: s.newPage(r, "Sign in", "")}
	err := parseForm(w, r)
	if err == nil {
		err = s.sameOrigin(r)
	}
	if err == nil && s.Identity == nil {
		err = leadcap.Errorf(leadcap.EUNAVAILABLE, "sign-in is not available")
	}
	lp.Email, lp.Next = r.PostForm.Get("email"), safeNext(r.PostForm.Get("next"))
	if err == nil {
		var res *identity.LoginResult
		res, err = s.Identity.Login(r.Context(), actor(r, nil), lp.Email, r.PostForm.Get("password"), deviceCookieValue(r))
		if err == nil {
			s.afterSignIn(w, r, res, lp)
			return
		}
		s.countFailedLogin(err)
	}
	lp.withError(err)
	s.render(w, r, ErrorStatus(err), "login", lp)
}

// handleLoginMFAForm is POST /login/mfa: the ticket and a code.
func (s *Server) handleLoginMFAForm(w http.ResponseWriter, r *http.Request) {
	lp := loginPage{page: s.newPage(r, "Sign in", "")}
	err := parseForm(w, r)
	if err == nil {
		err = s.sameOrigin(r)
	}
	if err == nil && s.Identity == nil {
		err = leadcap.Errorf(leadcap.EUNAVAILABLE, "sign-in is not available")
	}
	lp.Next, lp.Ticket = safeNext(r.PostForm.Get("next")), r.PostForm.Get("ticket")
	if err == nil {
		var res *identity.LoginResult
		res, err = s.Identity.LoginMFA(r.Context(), actor(r, nil), lp.Ticket, r.PostForm.Get("code"),
			r.PostForm.Get("recovery_code"), deviceCookieValue(r))
		if err == nil {
			s.afterSignIn(w, r, res, lp)
			return
		}
		s.countFailedLogin(err)
	}
	lp.withError(err)
	if lp.Errors == nil && leadcap.ErrorCode(err) == leadcap.EUNAUTHORIZED && strings.Contains(lp.Message, "code") {
		lp.Errors = map[string]string{"code": lp.Message}
	}
	if leadcap.ErrorCode(err) == leadcap.EUNAUTHORIZED && !strings.Contains(strings.ToLower(lp.Message), "code") {
		lp.Ticket = "" // the ticket is spent or expired: start again
	}
	s.render(w, r, ErrorStatus(err), "login", lp)
}

// afterSignIn sets the cookies of a session and sends the browser on: to
// the MFA step, to the forced password change, or where it was going.
func (s *Server) afterSignIn(w http.ResponseWriter, r *http.Request, res *identity.LoginResult, lp loginPage) {
	if res.MFATicket != "" {
		lp.Ticket, lp.Email = res.MFATicket, ""
		s.render(w, r, http.StatusOK, "login", lp)
		return
	}
	s.setSessionCookie(w, r, res.SessionToken, res.ExpiresAt)
	s.setDeviceCookie(w, r, res.Device)
	switch res.Restriction {
	case access.MustChangePassword:
		seeOther(w, r, "/password")
	case access.MustEnrolMFA:
		seeOther(w, r, "/account")
	default:
		seeOther(w, r, lp.Next)
	}
}

// passwordPage is the password change form.
type passwordPage struct {
	page
	Temporary bool
}

// handlePasswordPage is GET /password.
func (s *Server) handlePasswordPage(w http.ResponseWriter, r *http.Request) {
	pp := passwordPage{page: s.newPage(r, "Change password", "")}
	pp.Temporary = pp.User.MustChangePassword
	s.render(w, r, http.StatusOK, "password", pp)
}

// handlePasswordForm is POST /password: a new session follows, as every
// session of the user ends.
func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	pp := passwordPage{page: s.newPage(r, "Change password", "")}
	pp.Temporary = pp.User.MustChangePassword
	err := parseForm(w, r)
	if err == nil {
		p := access.FromContext(r.Context())
		var res *identity.LoginResult
		res, err = s.Identity.ChangePassword(r.Context(), actor(r, p.User), p, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
		if err == nil {
			s.setSessionCookie(w, r, res.SessionToken, res.ExpiresAt)
			if res.Restriction == access.MustEnrolMFA {
				seeOther(w, r, "/account")
				return
			}
			seeOther(w, r, "/account?done=password")
			return
		}
	}
	pp.withError(err)
	s.render(w, r, ErrorStatus(err), "password", pp)
}

// handleLogoutForm is POST /logout.
func (s *Server) handleLogoutForm(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	if err := s.Identity.Logout(r.Context(), actor(r, p.User), p); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.clearSessionCookie(w, r)
	seeOther(w, r, "/login?done=signed-out")
}

// accountPage is the caller's account: MFA, password, tokens.
type accountPage struct {
	page
	MustEnrol     bool
	RecoveryLeft  int
	Enrol         *enrolView
	RecoveryCodes []string
	Secret        *secretView
	Tokens        []*leadcap.Token
}

// enrolView is a started MFA enrolment: the QR code (base64 PNG) and key.
type enrolView struct{ QR, Secret string }

// secretView is a secret shown once: a temporary password or a token.
type secretView struct{ Title, Text, Secret, Expires string }

func (s *Server) accountPage(r *http.Request) (accountPage, error) {
	ap := accountPage{page: s.newPage(r, "Your account", "")}
	p := access.FromContext(r.Context())
	ap.MustEnrol = p.Restriction == access.MustEnrolMFA
	if p.User.MFAEnabled {
		n, err := s.Identity.RecoveryCodesLeft(r.Context(), p.User.ID)
		if err != nil {
			return ap, err
		}
		ap.RecoveryLeft = n
	}
	if p.Can(access.Self) {
		list, err := s.Identity.Tokens(r.Context(), p.User.ID)
		if err != nil {
			return ap, err
		}
		ap.Tokens = list
	}
	return ap, nil
}

// handleAccountPage is GET /account.
func (s *Server) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	ap, err := s.accountPage(r)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "account", ap)
}

// renderAccount answers the account page after an action, with err's
// problems if it failed.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, ap accountPage, err error) {
	status := http.StatusOK
	if err != nil {
		ap.withError(err)
		status = ErrorStatus(err)
	}
	s.render(w, r, status, "account", ap)
}

// handleMFAEnrolForm is POST /account/mfa/enrol: a new secret, shown as a
// QR code and as text until confirmed.
func (s *Server) handleMFAEnrolForm(w http.ResponseWriter, r *http.Request) {
	ap, err := s.accountPage(r)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	e, err := s.Identity.EnrolMFA(r.Context(), ap.User.ID)
	if err == nil {
		ap.Enrol = &enrolView{QR: base64.StdEncoding.EncodeToString(e.QRPNG), Secret: e.Secret}
	}
	s.renderAccount(w, r, ap, err)
}

// handleMFAConfirmForm is POST /account/mfa/confirm: the code turns MFA on;
// the recovery codes are shown once.
func (s *Server) handleMFAConfirmForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	p := access.FromContext(r.Context())
	codes, err := s.Identity.ConfirmMFA(r.Context(), actor(r, p.User), p.User.ID, r.PostForm.Get("code"))
	if err == nil {
		// The user's state changed: read it again for the page.
		u, uerr := s.Identity.User(r.Context(), p.User.ID)
		if uerr != nil {
			s.writeError(w, r, "console", uerr)
			return
		}
		p.User = u
		if p.Restriction == access.MustEnrolMFA {
			p = access.NewPrincipal(u, p.Via, "")
			p.CSRFToken = access.CSRFToken(r.Context())
			r = r.WithContext(access.WithPrincipal(r.Context(), p))
		}
	}
	ap, aerr := s.accountPage(r)
	if aerr != nil {
		s.writeError(w, r, "console", aerr)
		return
	}
	if err != nil {
		// Keep the enrolment on the page: the secret is still pending.
		if e, eerr := s.pendingEnrolment(r, p.User); eerr == nil && e != nil {
			ap.Enrol = e
		}
		if leadcap.ErrorFields(err) == nil {
			err = &leadcap.Error{Code: leadcap.ErrorCode(err), Message: leadcap.ErrorMessage(err),
				Fields: map[string]string{"code": leadcap.ErrorMessage(err)}}
		}
	}
	ap.RecoveryCodes = codes
	s.renderAccount(w, r, ap, err)
}

// pendingEnrolment shows the user's pending TOTP secret again, after a
// wrong confirmation code.
func (s *Server) pendingEnrolment(r *http.Request, u *leadcap.User) (*enrolView, error) {
	e, err := s.Identity.PendingEnrolment(r.Context(), u.ID)
	if err != nil || e == nil {
		return nil, err
	}
	return &enrolView{QR: base64.StdEncoding.EncodeToString(e.QRPNG), Secret: e.Secret}, nil
}

// handleMFADisableForm is POST /account/mfa/disable with a TOTP or a
// recovery code.
func (s *Server) handleMFADisableForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	p := access.FromContext(r.Context())
	code := strings.TrimSpace(r.PostForm.Get("code"))
	totp, recovery := code, ""
	if len(strings.ReplaceAll(code, " ", "")) > 8 {
		totp, recovery = "", code
	}
	err := s.Identity.DisableMFA(r.Context(), actor(r, p.User), p.User.ID, totp, recovery)
	if err == nil {
		seeOther(w, r, "/account?done=mfa-off")
		return
	}
	ap, aerr := s.accountPage(r)
	if aerr != nil {
		s.writeError(w, r, "console", aerr)
		return
	}
	if leadcap.ErrorFields(err) == nil {
		err = &leadcap.Error{Code: leadcap.ErrorCode(err), Message: leadcap.ErrorMessage(err),
			Fields: map[string]string{"code": leadcap.ErrorMessage(err)}}
	}
	s.renderAccount(w, r, ap, err)
}

// handleTokenForm is POST /account/tokens: a new token, shown once.
func (s *Server) handleTokenForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	p := access.FromContext(r.Context())
	ttl, err := identity.ParseTTL(r.PostForm.Get("expires"))
	var secret string
	var tok *leadcap.Token
	if err == nil {
		secret, tok, err = s.Identity.CreateToken(r.Context(), actor(r, p.User), p.User.ID, r.PostForm.Get("name"), ttl)
	}
	ap, aerr := s.accountPage(r)
	if aerr != nil {
		s.writeError(w, r, "console", aerr)
		return
	}
	if err == nil {
		ap.Secret = &secretView{Title: "Your new token " + tok.Name, Text: "Copy it now: it is not shown again.",
			Secret: secret, Expires: tok.ExpiresAt.UTC().Format("2 Jan 2006 15:04 UTC")}
	}
	s.renderAccount(w, r, ap, err)
}

// handleRevokeTokenForm is POST /account/tokens/{id}/revoke.
func (s *Server) handleRevokeTokenForm(w http.ResponseWriter, r *http.Request) {
	p := access.FromContext(r.Context())
	if _, err := s.Identity.RevokeToken(r.Context(), actor(r, p.User), p.User.ID, r.PathValue("id")); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	seeOther(w, r, "/account?done=revoked")
}
