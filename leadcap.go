// Package leadcap holds the domain types of leadcap, a lead capture system for
// trade shows and conferences, and the one error type its packages share.
// The packages under internal/ store, serve and operate on these types.
package leadcap

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is the release of this build; the linker may set it with
// -ldflags "-X github.com/leadcap/leadcap.Version=v1.2.3".
var Version = "dev"

// Conference statuses. Only an open conference accepts leads.
const (
	StatusDraft  = "draft"
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Question types.
const (
	QuestionText   = "text"   // free text, one line
	QuestionSingle = "single" // one of Choices
	QuestionMulti  = "multi"  // any of Choices
	QuestionNumber = "number" // a decimal number, optionally within Min..Max
	QuestionDate   = "date"   // a calendar date, YYYY-MM-DD
)

// Lead sources.
const (
	SourceForm   = "form"
	SourceKiosk  = "kiosk"
	SourceStaff  = "staff"
	SourceAPI    = "api"
	SourceImport = "import"
)

// Capture results, as answered by POST /api/v1/leads.
const (
	ResultCreated = "created" // a new lead: 201
	ResultUpdated = "updated" // merged into the lead with the same email: 200
)

// Conference is an event where leads are captured. Slug is unique, lower-case
// and URL-safe; it names the conference in the booth form URL /c/{slug}.
type Conference struct {
	ID        string     `json:"id"`
	Slug      string     `json:"slug"`
	Name      string     `json:"name"`
	Venue     string     `json:"venue,omitempty"`
	Country   string     `json:"country,omitempty"`   // ISO 3166-1 alpha-2; default region for phone numbers
	TimeZone  string     `json:"time_zone,omitempty"` // IANA name, e.g. America/Belize
	StartDate string     `json:"start_date,omitempty"`
	EndDate   string     `json:"end_date,omitempty"`
	Status    string     `json:"status"`
	Interests []Choice   `json:"interests,omitempty"` // offered interests; empty means none are asked
	Questions []Question `json:"questions,omitempty"` // qualifying questions, in order
	// Consent is the current consent text. Changing its text (or a
	// translation) makes a new version; leads keep the version they saw.
	Consent   ConsentText       `json:"consent"`
	Names     map[string]string `json:"names,omitempty"` // conference name by language
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`

	// Defences switches the form abuse defences for this conference.
	Defences FormDefences `json:"defences,omitzero"`
}

// Question is one qualifying question of a conference. ID is stable and short
// (letters, digits, '_' and '-'); answers are keyed by it.
type Question struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Label    string            `json:"label"`
	Labels   map[string]string `json:"labels,omitempty"` // label by language
	Required bool              `json:"required,omitempty"`
	Choices  []Choice          `json:"choices,omitempty"` // single and multi only
	Min      *float64          `json:"min,omitempty"`     // number only
	Max      *float64          `json:"max,omitempty"`     // number only
}

// Choice is one offered value of a choice question or of the interests list.
type Choice struct {
	Value  string            `json:"value"`
	Label  string            `json:"label,omitempty"`
	Labels map[string]string `json:"labels,omitempty"` // label by language
}

// ConsentText is one version of a conference's consent text. Hash is the
// hex SHA-256 of the text and its translations, so a lead's consent record
// proves exactly what the visitor was shown.
type ConsentText struct {
	Version   int               `json:"version"`
	Text      string            `json:"text"`
	Texts     map[string]string `json:"texts,omitempty"` // text by language
	Hash      string            `json:"hash"`
	CreatedAt time.Time         `json:"created_at"`
}

// Consent is what a visitor agreed to when submitting a lead.
type Consent struct {
	Contact   bool      `json:"contact"`
	Marketing bool      `json:"marketing"`
	Version   int       `json:"version"`
	TextHash  string    `json:"text_hash"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip,omitempty"`
}

// Lead is one person met at a conference. There is at most one lead per
// conference and email: a later submission with the same email is merged into
// it. Personal fields are encrypted at rest.
type Lead struct {
	ID           string       `json:"id"`
	ConferenceID string       `json:"conference_id"`
	FirstName    string       `json:"first_name"`
	LastName     string       `json:"last_name"`
	Email        string       `json:"email"`
	Phone        string       `json:"phone,omitempty"`
	Company      string       `json:"company,omitempty"`
	JobTitle     string       `json:"job_title,omitempty"`
	Country      string       `json:"country,omitempty"`
	Interests    []string     `json:"interests,omitempty"`
	Answers      Answers      `json:"answers,omitempty"`
	Notes        string       `json:"notes,omitempty"`
	Consent      Consent      `json:"consent"`
	Source       string       `json:"source"`
	DeviceID     string       `json:"device_id,omitempty"`
	SubmissionID string       `json:"submission_id"` // of the first submission
	Spam         bool         `json:"spam,omitempty"`
	SpamReason   string       `json:"spam_reason,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	History      []Submission `json:"history,omitempty"`

	// Rating, Tags and StaffNotes are the booth staff's, not the
	// visitor's: a submission never sets them and a merge keeps them.
	Rating     string     `json:"rating,omitempty"` // RatingHot, RatingWarm, RatingCold or "" for none
	Tags       []string   `json:"tags,omitempty"`
	StaffNotes []LeadNote `json:"staff_notes,omitempty"`
}

// Submission is one accepted submission of the lead form, kept in the
// history of the lead it created or updated.
type Submission struct {
	ID         string    `json:"id"` // the client's submission_id
	LeadID     string    `json:"lead_id"`
	Result     string    `json:"result"` // ResultCreated or ResultUpdated
	Source     string    `json:"source"`
	DeviceID   string    `json:"device_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// Answers holds a lead's answers by question id. After validation a value is
// a string (text, single choice, date as YYYY-MM-DD), a []string (multiple
// choice) or a float64 (number).
type Answers map[string]any

// UnmarshalJSON decodes answers keeping the value types named on Answers.
func (a *Answers) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Answers, len(raw))
	for k, v := range raw {
		var s string
		var f float64
		var list []string
		switch {
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case json.Unmarshal(v, &f) == nil:
			out[k] = f
		case json.Unmarshal(v, &list) == nil:
			out[k] = list
		default:
			return fmt.Errorf("answer %q: unsupported value %s", k, v)
		}
	}
	*a = out
	return nil
}

// CaptureResult is the answer to a lead submission. A repeated submission_id
// gets the first answer again.
type CaptureResult struct {
	LeadID string `json:"id"`
	Result string `json:"status"` // ResultCreated or ResultUpdated
	// Replayed reports that the submission_id was seen before and nothing
	// was stored; the client is not told.
	Replayed bool `json:"-"`
}
