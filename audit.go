package leadcap

import "time"

// Audit results.
const (
	AuditSuccess = "success"
	AuditFailure = "failure" // tried and failed: a wrong password, a bad code
	AuditDenied  = "denied"  // refused before trying: throttled, not allowed
)

// Audit actions of sign-in and user management. Later features add their
// own ("export.create", "lead.delete", ...). Actions that start with "auth."
// are a user's auth events (leadcap users auth-events).
const (
	AuditLogin          = "auth.login"
	AuditLoginMFA       = "auth.login.mfa"
	AuditLockout        = "auth.lockout"
	AuditLogout         = "auth.logout"
	AuditPasswordChange = "auth.password.change"
	AuditPasswordReset  = "auth.password.reset"
	AuditMFAEnable      = "auth.mfa.enable"
	AuditMFADisable     = "auth.mfa.disable"
	AuditMFAReset       = "auth.mfa.reset"
	AuditTokenCreate    = "auth.token.create"
	AuditTokenRevoke    = "auth.token.revoke"
	AuditUserCreate     = "user.create"
	AuditUserUpdate     = "user.update"
	AuditUserDelete     = "user.delete"
)

// AuditEvent is one record of the audit trail: who (actor) did what
// (action) to what (target), when, from where, and with what result. The
// trail is append-only and hash-chained: each record holds the hash of the
// one before it (PrevHash) and its own Hash over a canonical encoding of
// its fields, so a record changed or removed afterwards breaks the chain.
//
// Callers fill the descriptive fields; the store sets Seq, PrevHash and
// Hash, and At when it is zero.
type AuditEvent struct {
	Seq       int64             `json:"seq"`
	At        time.Time         `json:"at"`
	ActorID   string            `json:"actor_id,omitempty"` // user id; empty for the CLI or a stranger
	Actor     string            `json:"actor"`              // user email, "cli", or "anonymous"
	Action    string            `json:"action"`
	Target    string            `json:"target,omitempty"` // "user:<id>", "conference:<id>", ...
	ClientIP  string            `json:"client_ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Result    string            `json:"result"` // AuditSuccess, AuditFailure or AuditDenied
	Detail    map[string]string `json:"detail,omitempty"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}
