package leadcap

// Audit actions of the console and its API.
const (
	AuditConferenceCreate = "conference.create"
	AuditConferenceUpdate = "conference.update"
	AuditConferenceOpen   = "conference.open"
	AuditConferenceClose  = "conference.close"
	AuditConferenceDelete = "conference.delete"
	AuditLeadRectify      = "lead.rectify" // an admin corrected a lead's fields
	AuditLeadDelete       = "lead.delete"
)
