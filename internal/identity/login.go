package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/crypto"
)

// Prefixes of the secrets leadcap hands out, so a leaked one is recognised.
const (
	SessionPrefix = "lcs_" // console session cookie
	TicketPrefix  = "lcm_" // sign-in ticket for the MFA step
	TokenPrefix   = "lct_" // personal access token
)

// ticketTTL is how long the MFA step of a sign-in may take; ticketAttempts
// how many codes one ticket may try.
const (
	ticketTTL      = 5 * time.Minute
	ticketAttempts = 5
)

// errBadCredentials is the one answer to a wrong email or password, so
// that the answer does not tell whether the account exists.
func errBadCredentials() error {
	return leadcap.Errorf(leadcap.EUNAUTHORIZED, "wrong email or password")
}

// LoginResult is the outcome of a sign-in step: either a session, or a
// ticket for the MFA step.
type LoginResult struct {
	User *leadcap.User
	// Session, when signed in: the cookie's secret, the CSRF token that
	// must accompany state changes, and the absolute expiry.
	SessionToken string
	CSRFToken    string
	ExpiresAt    time.Time
	// Restriction says what the user must do first, if anything
	// (access.MustChangePassword, access.MustEnrolMFA).
	Restriction string
	// Device is a new device cookie for this browser: later sign-ins
	// presenting it are throttled apart from strangers guessing.
	Device string
	// MFATicket, when the user must give a TOTP or recovery code next.
	MFATicket       string
	TicketExpiresAt time.Time
}

// Login checks an email and password. Unknown emails and wrong passwords
// get the same answer after the same work. With MFA on it returns a ticket
// for LoginMFA; otherwise it starts a session. device is the browser's
// device cookie, if any.
func (s *Service) Login(ctx context.Context, a Actor, email, password, device string) (*LoginResult, error) {
	email = NormalizeEmail(email)
	fields := map[string]string{}
	if email == "" {
		fields["email"] = "is required"
	} else if len(email) > 254 {
		fields["email"] = "is too long"
	}
	if password == "" {
		fields["password"] = "is required"
	} else if len(password) > crypto.MaxPasswordBytes {
		fields["password"] = "is too long"
	}
	if err := leadcap.FieldErrors(fields); err != nil {
		return nil, err
	}
	u, hash, err := s.st.UserPassword(ctx, email)
	if err != nil && leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
		return nil, err
	}
	target := ""
	if u != nil {
		target = userTarget(u.ID)
	}
	g, err := s.attempt(a, s.accountKey(email, u, device), target)
	if err != nil {
		return nil, err
	}
	ok := false
	if u == nil {
		err = s.dummyCheck(ctx, password)
	} else {
		ok, err = s.checkPassword(ctx, hash, password)
	}
	if err != nil {
		g.succeeded() // not the caller's failure
		return nil, err
	}
	if !ok {
		detail := map[string]string{"reason": "wrong password"}
		if u == nil {
			detail["reason"] = "unknown email"
		}
		if err := s.audit(ctx, a, leadcap.AuditLogin, target, leadcap.AuditFailure, detail); err != nil {
			return nil, err
		}
		g.failed(ctx, a)
		return nil, errBadCredentials()
	}
	g.succeeded()
	if err := s.usable(ctx, a, u); err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		ticket, hash, err := crypto.NewToken(TicketPrefix)
		if err != nil {
			return nil, err
		}
		expires := s.now().Add(ticketTTL).UTC()
		if err := s.st.CreateLoginTicket(ctx, hash, u.ID, expires); err != nil {
			return nil, err
		}
		return &LoginResult{User: u, MFATicket: ticket, TicketExpiresAt: expires}, nil
	}
	return s.startSession(ctx, a, u, "password")
}

// usable refuses a sign-in, after the password was right, by a disabled
// user or with an expired temporary password.
func (s *Service) usable(ctx context.Context, a Actor, u *leadcap.User) error {
	var reason string
	var err error
	switch {
	case u.Status != leadcap.UserActive:
		reason, err = "disabled", leadcap.Errorf(leadcap.EUNAUTHORIZED, "this account is disabled")
	case u.MustChangePassword && !u.PasswordExpiresAt.IsZero() && !s.now().Before(u.PasswordExpiresAt):
		reason, err = "temporary password expired", leadcap.Errorf(leadcap.EUNAUTHORIZED,
			"the temporary password has expired: ask an admin for a new one")
	default:
		return nil
	}
	if aerr := s.audit(ctx, a, leadcap.AuditLogin, userTarget(u.ID), leadcap.AuditDenied, map[string]string{"reason": reason}); aerr != nil {
		return aerr
	}
	return err
}

// LoginMFA finishes a sign-in with the ticket from Login and a TOTP code or
// a recovery code.
func (s *Service) LoginMFA(ctx context.Context, a Actor, ticket, code, recovery, device string) (*LoginResult, error) {
	if ticket == "" || len(ticket) > 200 {
		return nil, leadcap.FieldErrors(map[string]string{"ticket": "is required"})
	}
	th := crypto.HashToken(ticket)
	userID, err := s.st.UseLoginTicket(ctx, th, s.now(), ticketAttempts)
	if err != nil {
		return nil, err
	}
	u, err := s.st.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	a.UserID, a.Email = u.ID, u.Email
	method, err := s.secondFactor(ctx, a, u, code, recovery, device, leadcap.AuditLoginMFA)
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteLoginTicket(ctx, th); err != nil {
		return nil, err
	}
	if err := s.usable(ctx, a, u); err != nil {
		return nil, err
	}
	return s.startSession(ctx, a, u, method)
}

// startSession makes a session for u, who has just proved who they are.
func (s *Service) startSession(ctx context.Context, a Actor, u *leadcap.User, method string) (*LoginResult, error) {
	token, hash, err := crypto.NewToken(SessionPrefix)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sess := &leadcap.Session{UserID: u.ID, ClientIP: a.ClientIP, UserAgent: truncate(a.UserAgent, 256),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opts.SessionMaxAge)}
	if err := s.st.CreateSession(ctx, sess, hash); err != nil {
		return nil, err
	}
	if err := s.st.RecordLogin(ctx, u.ID, now); err != nil {
		return nil, err
	}
	u.LastLoginAt = now
	a.UserID, a.Email = u.ID, u.Email
	if err := s.audit(ctx, a, leadcap.AuditLogin, userTarget(u.ID), leadcap.AuditSuccess, map[string]string{"method": method}); err != nil {
		return nil, err
	}
	s.sweep(ctx, now)
	return &LoginResult{User: u, SessionToken: token, CSRFToken: csrfFor(token), ExpiresAt: sess.ExpiresAt,
		Restriction: s.restriction(u), Device: s.deviceCookie(u.ID)}, nil
}

// sweep clears out sessions that ended by themselves, at most every ten
// minutes, at a sign-in.
func (s *Service) sweep(ctx context.Context, now time.Time) {
	last := s.lastSweep.Load()
	if now.UnixMicro()-last < (10*time.Minute).Microseconds() || !s.lastSweep.CompareAndSwap(last, now.UnixMicro()) {
		return
	}
	if _, err := s.st.DeleteExpiredSessions(ctx, now, now.Add(-s.opts.SessionIdle)); err != nil {
		s.log.WarnContext(ctx, "delete expired sessions", "component", "identity", "err", err)
	}
}

// Logout ends the principal's session.
func (s *Service) Logout(ctx context.Context, a Actor, p *access.Principal) error {
	if p.Via == access.ViaSession {
		if err := s.st.DeleteSession(ctx, p.SessionID); err != nil {
			return err
		}
	}
	return s.audit(ctx, a, leadcap.AuditLogout, userTarget(p.User.ID), leadcap.AuditSuccess, nil)
}

// ChangePassword sets the user's own new password after checking the
// current one, ends all their sessions, and, when they called from a
// session, starts a new one (returned) so they stay signed in. It is the
// only thing a temporary password is good for.
func (s *Service) ChangePassword(ctx context.Context, a Actor, p *access.Principal, current, next string) (*LoginResult, error) {
	fields := map[string]string{}
	if current == "" {
		fields["current_password"] = "is required"
	} else if len(current) > crypto.MaxPasswordBytes {
		fields["current_password"] = "is too long"
	}
	if err := crypto.CheckPasswordPolicy(next); err != nil {
		fields["new_password"] = leadcap.ErrorMessage(err)
	} else if next == current {
		fields["new_password"] = "must differ from the current password"
	}
	if err := leadcap.FieldErrors(fields); err != nil {
		return nil, err
	}
	u, hash, err := s.st.UserPassword(ctx, p.User.Email)
	if err != nil {
		return nil, err
	}
	target := userTarget(u.ID)
	g, err := s.attempt(a, "account:"+u.Email, target)
	if err != nil {
		return nil, err
	}
	ok, err := s.checkPassword(ctx, hash, current)
	if err != nil {
		g.succeeded()
		return nil, err
	}
	if !ok {
		if err := s.audit(ctx, a, leadcap.AuditPasswordChange, target, leadcap.AuditFailure,
			map[string]string{"reason": "wrong current password"}); err != nil {
			return nil, err
		}
		g.failed(ctx, a)
		return nil, leadcap.FieldErrors(map[string]string{"current_password": "is wrong"})
	}
	g.succeeded()
	if err := s.usable(ctx, a, u); err != nil {
		return nil, err
	}
	newHash, err := s.hashPassword(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.st.SetPassword(ctx, u.ID, newHash, false, time.Time{}); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, a, leadcap.AuditPasswordChange, target, leadcap.AuditSuccess, nil); err != nil {
		return nil, err
	}
	u.MustChangePassword, u.PasswordExpiresAt = false, time.Time{}
	if p.Via != access.ViaSession {
		return &LoginResult{User: u, Restriction: s.restriction(u)}, nil
	}
	return s.startSession(ctx, a, u, "password change")
}

// restriction says what u must do before anything else, if anything.
func (s *Service) restriction(u *leadcap.User) string {
	switch {
	case u.MustChangePassword:
		return access.MustChangePassword
	case s.opts.RequireAdminMFA && u.Role == leadcap.RoleAdmin && !u.MFAEnabled:
		return access.MustEnrolMFA
	}
	return ""
}

// csrfFor derives a session's CSRF token from its secret: only the holder
// of the cookie can know it, and nothing more is stored.
func csrfFor(sessionToken string) string {
	sum := sha256.Sum256([]byte("leadcap csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// accountKey is the throttling bucket of a sign-in: the browser's own
// bucket when it carries a valid device cookie of this account, else the
// account's (by email, so unknown emails behave like known ones).
func (s *Service) accountKey(email string, u *leadcap.User, device string) string {
	if u != nil && device != "" {
		if nonce, ok := s.checkDevice(u.ID, device); ok {
			return "device:" + u.ID + ":" + nonce
		}
	}
	return "account:" + email
}

// deviceCookie returns a new device cookie for the user: a random nonce
// bound to the user by a keyed MAC.
func (s *Service) deviceCookie(userID string) string {
	nonce := crypto.RandomString(16)
	return nonce + "." + userID + "." + s.deviceMAC(userID, nonce)
}

func (s *Service) deviceMAC(userID, nonce string) string {
	return hex.EncodeToString(s.keys.BlindIndex("device-cookie", userID+"\x00"+nonce)[:16])
}

// checkDevice returns the nonce of a device cookie that is valid for userID.
func (s *Service) checkDevice(userID, cookie string) (string, bool) {
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 || parts[1] != userID || len(parts[0]) != 16 {
		return "", false
	}
	want := s.deviceMAC(userID, parts[0])
	return parts[0], crypto.ConstantTimeEqual([]byte(want), []byte(parts[2]))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// isNotFound reports whether err is ENOTFOUND.
func isNotFound(err error) bool {
	var e *leadcap.Error
	return errors.As(err, &e) && e.Code == leadcap.ENOTFOUND
}
