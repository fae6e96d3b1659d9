package intake

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
)

var testNow = time.Date(2025, 5, 14, 9, 30, 0, 0, time.UTC)

func ptr(f float64) *float64 { return &f }

// testConference returns a conference with one question of each type.
func testConference() *leadcap.Conference {
	return &leadcap.Conference{
		ID:      "conf-1",
		Slug:    "expo-2025",
		Name:    "Expo 2025",
		Country: "US",
		Status:  leadcap.StatusOpen,
		Interests: []leadcap.Choice{
			{Value: "crm"}, {Value: "erp"}, {Value: "ai", Label: "AI"}, {Value: "café"},
		},
		Questions: []leadcap.Question{
			{ID: "role", Type: leadcap.QuestionText, Label: "Your role"},
			{ID: "size", Type: leadcap.QuestionSingle, Label: "Company size", Required: true,
				Choices: []leadcap.Choice{{Value: "1-10"}, {Value: "11-100"}, {Value: "100+"}}},
			{ID: "topics", Type: leadcap.QuestionMulti, Label: "Topics",
				Choices: []leadcap.Choice{{Value: "cloud"}, {Value: "edge"}, {Value: "security"}}},
			{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget", Min: ptr(0), Max: ptr(1e6)},
			{ID: "start", Type: leadcap.QuestionDate, Label: "Start date"},
		},
		Consent: leadcap.ConsentText{Version: 3, Text: "We may contact you.", Hash: ConsentHash("We may contact you.", nil)},
	}
}

// goodJSON is a typical submission of about 500 bytes.
const goodJSON = `{
  "conference": "expo-2025",
  "submission_id": "0b7c1f3e-8a51-4f0e-9d7b-2f6a4c1e9b21",
  "first_name": "Ana",
  "last_name": "García",
  "email": "ana.garcia@Example.COM",
  "phone": "+1 415 555 2671",
  "company": "Acme Corp",
  "job_title": "Head of IT",
  "country": "us",
  "interests": ["crm", "ai"],
  "answers": {"role": "CTO", "size": "11-100", "topics": ["cloud", "security"], "budget": 25000, "start": "2025-09-01"},
  "notes": "Wants a demo\nnext week.",
  "consent": {"contact": true, "marketing": false, "version": 3},
  "source": "form",
  "device_id": "kiosk-7"
}`

// minimalJSON returns a valid submission with the given extra members,
// each a `"key": value` string, inserted first.
func minimalJSON(extra ...string) string {
	base := []string{
		`"submission_id":"s1"`, `"email":"a@example.com"`,
		`"answers":{"size":"1-10"}`, `"consent":{"contact":true}`,
	}
	seen := map[string]bool{}
	for _, e := range extra {
		seen[e[:strings.Index(e, ":")]] = true
	}
	members := append([]string{}, extra...)
	for _, b := range base {
		if !seen[b[:strings.Index(b, ":")]] {
			members = append(members, b)
		}
	}
	return "{" + strings.Join(members, ",") + "}"
}

func mustDecode(t testing.TB, body string) *Input {
	t.Helper()
	in, err := DecodeJSON(strings.NewReader(body), 0)
	if err != nil {
		t.Fatalf("DecodeJSON(%s): %v", body, err)
	}
	return in
}

func mustValidate(t testing.TB, body string) *leadcap.Lead {
	t.Helper()
	l, err := Validate(mustDecode(t, body), testConference(), testNow)
	if err != nil {
		t.Fatalf("Validate(%s): %v", body, err)
	}
	return l
}

// codeOf returns the code of err, failing unless err is a *leadcap.Error.
func codeOf(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *leadcap.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *leadcap.Error", err, err)
	}
	return e.Code
}

// inputFromLead returns the submission that would validate to l.
func inputFromLead(l *leadcap.Lead) *Input {
	in := &Input{
		SubmissionID: l.SubmissionID,
		FirstName:    l.FirstName,
		LastName:     l.LastName,
		Email:        l.Email,
		Phone:        l.Phone,
		Company:      l.Company,
		JobTitle:     l.JobTitle,
		Country:      l.Country,
		Interests:    l.Interests,
		Notes:        l.Notes,
		Consent:      InputConsent{Contact: l.Consent.Contact, Marketing: l.Consent.Marketing, Version: l.Consent.Version},
		Source:       l.Source,
		DeviceID:     l.DeviceID,
	}
	if len(l.Answers) > 0 {
		in.Answers = make(map[string]json.RawMessage, len(l.Answers))
		for id, a := range l.Answers {
			b, err := json.Marshal(a)
			if err != nil {
				panic(err)
			}
			in.Answers[id] = b
		}
	}
	return in
}
