package export

import (
	"slices"
	"time"

	"github.com/leadcap/leadcap"
)

// record is what a column reads: one lead and its conference.
type record struct {
	lead *leadcap.Lead
	conf *leadcap.Conference
}

// kind is the type of a value.
type kind uint8

// Kinds of values.
const (
	none     kind = iota // no value: an unanswered question
	textKind             // s
	boolKind             // b
	numKind              // n: a number answer or the consent version
	listKind             // list: interests, a multiple-choice answer
	timeKind             // t: a time, in UTC
	dateKind             // s: an answer to a date question, YYYY-MM-DD
)

// value is one cell of an export, typed so that JSON can write it
// verbatim and XLSX can type dates. Columns fill a value in place, so a
// row costs no allocation.
type value struct {
	kind kind
	s    string
	b    bool
	n    float64
	list []string
	t    time.Time
}

func (v *value) setText(s string)      { *v = value{kind: textKind, s: s} }
func (v *value) setBool(b bool)        { *v = value{kind: boolKind, b: b} }
func (v *value) setNum(n float64)      { *v = value{kind: numKind, n: n} }
func (v *value) setList(list []string) { *v = value{kind: listKind, list: list} }
func (v *value) setTime(t time.Time)   { *v = value{kind: timeKind, t: t} }

// column is one column of an export: its CSV and XLSX header and JSON key,
// and how to read its value from a record.
type column struct {
	name  string
	value func(r *record, v *value)
}

// field is one field of a lead with its column name in each preset; an
// empty name leaves the field out of that preset.
type field struct {
	leadcap, hubspot, salesforce string
	value                        func(r *record, v *value)
}

// questionsHere marks where the question columns go in fieldTable.
const questionsHere = "answers.*"

// fieldTable is the one table of export columns: every field of a lead, in
// order, and its header in each preset. The HubSpot and Salesforce names of
// the person's fields are the headers their contact and lead imports map on
// their own; the rest are named plainly for mapping by hand.
func fieldTable() []field {
	type (
		rec = *record
		val = *value
	)
	return []field{
		{"id", "Leadcap ID", "Leadcap ID", func(r rec, v val) { v.setText(r.lead.ID) }},
		{"conference", "Conference", "Conference", func(r rec, v val) { v.setText(r.conf.Slug) }},
		{"created_at", "Captured At", "Captured At", func(r rec, v val) { v.setTime(r.lead.CreatedAt) }},
		{"updated_at", "", "", func(r rec, v val) { v.setTime(r.lead.UpdatedAt) }},
		{"first_name", "First Name", "First Name", func(r rec, v val) { v.setText(r.lead.FirstName) }},
		{"last_name", "Last Name", "Last Name", func(r rec, v val) { v.setText(r.lead.LastName) }},
		{"email", "Email", "Email", func(r rec, v val) { v.setText(r.lead.Email) }},
		{"phone", "Phone Number", "Phone", func(r rec, v val) { v.setText(r.lead.Phone) }},
		{"company", "Company Name", "Company", func(r rec, v val) { v.setText(r.lead.Company) }},
		{"job_title", "Job Title", "Title", func(r rec, v val) { v.setText(r.lead.JobTitle) }},
		{"country", "Country/Region", "Country", func(r rec, v val) { v.setText(r.lead.Country) }},
		{"interests", "Interests", "Interests", func(r rec, v val) { v.setList(r.lead.Interests) }},
		{questionsHere, questionsHere, questionsHere, nil},
		{"notes", "Notes", "Description", func(r rec, v val) { v.setText(r.lead.Notes) }},
		{"consent_contact", "Consent to Contact", "Consent to Contact", func(r rec, v val) { v.setBool(r.lead.Consent.Contact) }},
		{"consent_marketing", "Marketing Consent", "Marketing Consent", func(r rec, v val) { v.setBool(r.lead.Consent.Marketing) }},
		{"consent_version", "Consent Version", "Consent Version", func(r rec, v val) { v.setNum(float64(r.lead.Consent.Version)) }},
		{"consent_text_hash", "Consent Text Hash", "Consent Text Hash", func(r rec, v val) { v.setText(r.lead.Consent.TextHash) }},
		{"consent_at", "Consent Time", "Consent Time", func(r rec, v val) { v.setTime(r.lead.Consent.At) }},
		{"consent_ip", "", "", func(r rec, v val) { v.setText(r.lead.Consent.IP) }},
		{"source", "Capture Source", "Capture Source", func(r rec, v val) { v.setText(r.lead.Source) }},
		{"", "", "Lead Source", func(r rec, v val) { v.setText("Trade Show") }},
		{"device_id", "", "", func(r rec, v val) { v.setText(r.lead.DeviceID) }},
		{"submission_id", "", "", func(r rec, v val) { v.setText(r.lead.SubmissionID) }},
		{"spam", "", "", func(r rec, v val) { v.setBool(r.lead.Spam) }},
		{"spam_reason", "", "", func(r rec, v val) { v.setText(r.lead.SpamReason) }},
	}
}

// Presets lists the column presets.
func Presets() []string {
	return []string{leadcap.ColumnsLeadcap, leadcap.ColumnsHubSpot, leadcap.ColumnsSalesforce}
}

// Formats lists the export formats.
func Formats() []string {
	return []string{leadcap.FormatCSV, leadcap.FormatJSON, leadcap.FormatNDJSON, leadcap.FormatXLSX}
}

// columnsFor returns the columns of preset for leads of confs, which are in
// conference order. There is one column per question: for several
// conferences, one per question id, ordered by conference and then by
// question order, named after the first conference that asks it.
func columnsFor(preset string, confs []*leadcap.Conference) []column {
	name := func(f field) string {
		switch preset {
		case leadcap.ColumnsHubSpot:
			return f.hubspot
		case leadcap.ColumnsSalesforce:
			return f.salesforce
		}
		return f.leadcap
	}
	// Fields keep their names; a question whose name is taken (two
	// questions with one label, or a label like a field's name) gets its
	// id added, so that no two JSON keys are alike.
	used := map[string]bool{}
	for _, f := range fieldTable() {
		used[name(f)] = true
	}
	var cols []column
	for _, f := range fieldTable() {
		n := name(f)
		switch n {
		case "":
			continue
		case questionsHere:
			for _, q := range unionQuestions(confs) {
				n := "answers." + q.ID
				if preset != leadcap.ColumnsLeadcap {
					n = q.Label
				}
				for used[n] {
					n += " (" + q.ID + ")"
				}
				used[n] = true
				cols = append(cols, column{name: n, value: answerValue(q)})
			}
		default:
			cols = append(cols, column{name: n, value: f.value})
		}
	}
	return cols
}

// unionQuestions returns the questions of confs, the first of each id.
func unionQuestions(confs []*leadcap.Conference) []leadcap.Question {
	var out []leadcap.Question
	seen := map[string]bool{}
	for _, c := range confs {
		for _, q := range c.Questions {
			if !seen[q.ID] {
				seen[q.ID] = true
				out = append(out, q)
			}
		}
	}
	return out
}

// answerValue reads the answer to q as stored: a number, a list, a date
// for a date question, or text; none when the lead has no answer.
func answerValue(q leadcap.Question) func(r *record, v *value) {
	return func(r *record, v *value) {
		switch a := r.lead.Answers[q.ID].(type) {
		case string:
			v.setText(a)
			if q.Type == leadcap.QuestionDate {
				v.kind = dateKind
			}
		case float64:
			v.setNum(a)
		case []string:
			v.setList(a)
		default:
			*v = value{}
		}
	}
}

// sortConferences orders conferences by creation, oldest first: the column
// order of a multi-conference export.
func sortConferences(confs []*leadcap.Conference) {
	slices.SortFunc(confs, func(a, b *leadcap.Conference) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
}
