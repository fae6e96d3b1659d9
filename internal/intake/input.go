// Package intake turns the untrusted bytes of a lead submission into a
// validated, normalised *leadcap.Lead, and validates conference definitions.
//
// Every error a client can cause is a *leadcap.Error: EBADREQUEST for a body
// that is not a well-formed submission, ETOOLARGE for one over its limit,
// EUNSUPPORTED for a content type other than JSON or an HTML form, and
// EINVALID, naming each bad field by its JSON name, for one that is
// well-formed but fails validation against its conference.
package intake

import "encoding/json"

// Limits on the shape of a submission. No honest client exceeds them: a
// conference offers at most 100 interests, 50 questions and 100 choices per
// question (see ValidateConference), so a longer list is rejected as
// malformed (EBADREQUEST) before it is validated.
const (
	DefaultBodyLimit = 64 << 10 // bytes; used when a limit of 0 or less is given
	MaxInterests     = 100      // values in "interests"
	MaxAnswers       = 100      // keys in "answers"
	MaxAnswerValues  = 100      // values in one multiple-choice answer
	maxDepth         = 8        // nesting of JSON objects and arrays
	maxObjectKeys    = 128      // keys in any one JSON object
)

// Input is a lead submission as the client sent it: decoded, but neither
// normalised nor validated. Validate turns it into a *leadcap.Lead.
type Input struct {
	Conference   string   `json:"conference"` // slug or id; optional when the URL names it
	SubmissionID string   `json:"submission_id"`
	FirstName    string   `json:"first_name"`
	LastName     string   `json:"last_name"`
	Email        string   `json:"email"`
	Phone        string   `json:"phone"`
	Company      string   `json:"company"`
	JobTitle     string   `json:"job_title"`
	Country      string   `json:"country"`
	Interests    []string `json:"interests"`
	// Answers holds each answer as sent: a JSON string, number, array of
	// strings or null. Its meaning depends on the conference's question, so
	// it is only interpreted by Validate.
	Answers  map[string]json.RawMessage `json:"answers"`
	Notes    string                     `json:"notes"`
	Consent  InputConsent               `json:"consent"`
	Source   string                     `json:"source"`
	DeviceID string                     `json:"device_id"`

	// Abuse defences, checked by the shield before the lead is stored
	// (internal/shield). They are never part of the lead and Validate
	// ignores them.
	Website     string `json:"website"`      // honeypot: a person leaves it empty
	RenderToken string `json:"render_token"` // signed when the form was rendered
	PowNonce    string `json:"pow_nonce"`    // the proof of work's answer to the render token's challenge
	DeviceToken string `json:"device_token"` // a kiosk device link's token: no proof of work asked

	// fromForm is set by DecodeForm: form answers are strings, so a number
	// may come as a numeric string and one ticked box of a multiple-choice
	// question as a single string.
	fromForm bool
}

// InputConsent is the consent a client says the visitor gave. Version is the
// consent text version the visitor was shown; 0 means the current one.
type InputConsent struct {
	Contact   bool `json:"contact"`
	Marketing bool `json:"marketing"`
	Version   int  `json:"version"`
}

// isInputKey reports whether k is the JSON name of a field of Input, and
// isConsentKey whether it is one of InputConsent. The token walk accepts
// exactly these spellings: encoding/json would also match "EMAIL" or "Email"
// to the email field, and a second spelling of a field is a duplicate in
// disguise.
func isInputKey(k string) bool {
	switch k {
	case "conference", "submission_id", "first_name", "last_name", "email",
		"phone", "company", "job_title", "country", "interests", "answers",
		"notes", "consent", "source", "device_id",
		"website", "render_token", "pow_nonce", "device_token":
		return true
	}
	return false
}

func isConsentKey(k string) bool {
	return k == "contact" || k == "marketing" || k == "version"
}
