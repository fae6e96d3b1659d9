package export

import (
	"context"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

// Audit actions of exports.
const (
	AuditCreate   = "export.create"   // a file of leads was written (or failed)
	AuditDownload = "export.download" // a stored export was downloaded (or refused)
	AuditDelete   = "export.delete"   // a stored export was deleted by a user
	AuditExpire   = "export.expire"   // a stored export reached its age and was removed
)

// Audit results.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
	AuditDenied  = "denied"
)

// Actor is who acts: a user, the command line, or the system.
type Actor struct {
	ID   string // user id; empty for the CLI, the system or a stranger
	Name string // user email, "cli", "system" or "anonymous"
}

// Names of actors that are not users.
const (
	ActorCLI       = "cli"
	ActorSystem    = "system"
	ActorAnonymous = "anonymous"
)

// AuditEvent is one export event for the audit trail: who did what to
// which export, from where, with what result.
type AuditEvent struct {
	Action    string
	ExportID  string // empty for an export the CLI wrote to a file
	Actor     Actor
	ClientIP  string
	UserAgent string
	Result    string
	Detail    map[string]string // format, rows, sha256, reason, ...
}

// Auditor records export events in the audit trail. An export, a download
// or a deletion whose event cannot be recorded fails.
type Auditor interface {
	AuditExport(ctx context.Context, ev AuditEvent) error
}

// StoreAuditor appends export events to the audit trail in the database,
// hash-chained with every other event.
type StoreAuditor struct {
	Store *store.Store
}

// AuditExport appends ev to the audit trail as "export:<id>".
func (a StoreAuditor) AuditExport(ctx context.Context, ev AuditEvent) error {
	target := ""
	if ev.ExportID != "" {
		target = "export:" + ev.ExportID
	}
	return a.Store.AppendAudit(ctx, leadcap.AuditEvent{ActorID: ev.Actor.ID, Actor: ev.Actor.Name, Action: ev.Action,
		Target: target, ClientIP: ev.ClientIP, UserAgent: ev.UserAgent, Result: ev.Result, Detail: ev.Detail})
}
