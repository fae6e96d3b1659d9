package leadcap

import "time"

// Role is what a user may do in leadcap. internal/access maps each role to
// its permissions; every route names the permission it needs.
type Role string

// Roles.
const (
	RoleAdmin  Role = "admin"  // everything
	RoleStaff  Role = "staff"  // conferences and leads: read, notes, ratings, tags
	RoleViewer Role = "viewer" // read only
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleStaff || r == RoleViewer
}

// User statuses. A disabled user cannot sign in, and has no sessions or
// usable tokens.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User is a person who signs in to the console or calls the API. Email is
// unique and stored lower-case. A user whose password is temporary (new, or
// reset by an admin) may use it only to choose a new one, and only until
// PasswordExpiresAt.
type User struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name,omitempty"`
	Role   Role   `json:"role"`
	Status string `json:"status"` // UserActive or UserDisabled
	// Permissions are granted on top of the role's, such as leads:export
	// for a staff member who runs exports.
	Permissions        []string  `json:"permissions,omitempty"`
	MFAEnabled         bool      `json:"mfa_enabled"`
	MustChangePassword bool      `json:"must_change_password"`
	PasswordExpiresAt  time.Time `json:"password_expires_at,omitzero"` // temporary passwords only
	PasswordChangedAt  time.Time `json:"password_changed_at"`
	LastLoginAt        time.Time `json:"last_login_at,omitzero"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Session is a signed-in console session. The browser holds a random secret
// in a cookie; the database holds only its hash. A session ends when it has
// been idle too long, at ExpiresAt, at logout, or when its user is disabled,
// changes role or gets a new password.
type Session struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	ClientIP   string    `json:"client_ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"` // absolute end, whatever the activity
}

// Token is a personal access token for the API, sent as
// "Authorization: Bearer lct_...". It acts with its user's current
// permissions. The secret is shown once at creation; only its hash is kept.
type Token struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

// Active reports whether t may be used at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}
