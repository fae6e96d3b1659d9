package leadcap

import "time"

// Export formats.
const (
	FormatCSV    = "csv"    // RFC 4180, optionally with a UTF-8 byte order mark for Excel
	FormatJSON   = "json"   // one JSON array of objects
	FormatNDJSON = "ndjson" // one JSON object per line
	FormatXLSX   = "xlsx"   // an Excel workbook
)

// Export column presets: which columns an export has and what they are called.
const (
	ColumnsLeadcap    = "leadcap"    // every field, with leadcap's names
	ColumnsHubSpot    = "hubspot"    // HubSpot's contact import headers
	ColumnsSalesforce = "salesforce" // Salesforce's lead import headers
)

// Export statuses.
const (
	ExportRunning = "running"
	ExportDone    = "done"
	ExportFailed  = "failed"
)

// ExportFilter selects the leads of an export. Zero values select everything.
type ExportFilter struct {
	ConferenceID string `json:"conference_id,omitempty"`
	// Leads created in [Since, Until). An export never holds leads created
	// after it started: Until is at most its start.
	Since       time.Time `json:"since,omitzero"`
	Until       time.Time `json:"until,omitzero"`
	IncludeSpam bool      `json:"include_spam,omitempty"`
}

// Export is one file of leads, stored encrypted in the object store at
// ObjectKey until ExpiresAt. Rows, Bytes and SHA256 describe the plaintext
// file; while it runs, Rows counts the leads written so far out of Total.
type Export struct {
	ID         string       `json:"id"`
	Format     string       `json:"format"`
	Columns    string       `json:"columns"`
	BOM        bool         `json:"bom,omitempty"`
	Filter     ExportFilter `json:"filter"`
	Status     string       `json:"status"`
	Rows       int64        `json:"rows"`
	Total      int64        `json:"total"`
	Bytes      int64        `json:"bytes"`
	SHA256     string       `json:"sha256,omitempty"`
	ObjectKey  string       `json:"-"`
	CreatedBy  string       `json:"created_by,omitempty"` // user id; empty for the CLI
	CreatedAt  time.Time    `json:"created_at"`
	FinishedAt time.Time    `json:"finished_at,omitzero"`
	ExpiresAt  time.Time    `json:"expires_at"`
	Error      string       `json:"error,omitempty"` // why it failed, safe to show
}
