package export

import (
	"slices"

	"github.com/leadcap/leadcap"
)

// record is what a column reads: one lead and its conference.
type record struct {
	lead *leadcap.Lead
	conf *leadcap.Conference
}

// date is an answer to a date question, YYYY-MM-DD: text in CSV and JSON,
// a typed date in XLSX.
type date string

// column is one column of an export: its CSV and XLSX header and JSON key,
// and its value, which is a string, bool, int, float64, []string,
// time.Time, date, or nil for no value.
type column struct {
	name  string
	value func(r *record) any
}

// field is one field of a lead with its column name in each preset; an
// empty name leaves the field out of that preset.
type field struct {
	leadcap, hubspot, salesforce string
	value                        func(r *record) any
}

// questionsHere marks where the question columns go in fieldTable.
const questionsHere = "answers.*"

// fieldTable is the one table of export columns: every field of a lead, in
// order, and its header in each preset. The HubSpot and Salesforce names of
// the person's fields are the headers their contact and lead imports map on
// their own; the rest are named plainly for mapping by hand.
func fieldTable() []field {
	l := func(r *record) *leadcap.Lead { return r.lead }
	return []field{
		{"id", "Leadcap ID", "Leadcap ID", func(r *record) any { return l(r).ID }},
		{"conference", "Conference", "Conference", func(r *record) any { return r.conf.Slug }},
		{"created_at", "Captured At", "Captured At", func(r *record) any { return l(r).CreatedAt }},
		{"updated_at", "", "", func(r *record) any { return l(r).UpdatedAt }},
		{"first_name", "First Name", "First Name", func(r *record) any { return l(r).FirstName }},
		{"last_name", "Last Name", "Last Name", func(r *record) any { return l(r).LastName }},
		{"email", "Email", "Email", func(r *record) any { return l(r).Email }},
		{"phone", "Phone Number", "Phone", func(r *record) any { return l(r).Phone }},
		{"company", "Company Name", "Company", func(r *record) any { return l(r).Company }},
		{"job_title", "Job Title", "Title", func(r *record) any { return l(r).JobTitle }},
		{"country", "Country/Region", "Country", func(r *record) any { return l(r).Country }},
		{"interests", "Interests", "Interests", func(r *record) any { return orEmpty(l(r).Interests) }},
		{questionsHere, questionsHere, questionsHere, nil},
		{"notes", "Notes", "Description", func(r *record) any { return l(r).Notes }},
		{"consent_contact", "Consent to Contact", "Consent to Contact", func(r *record) any { return l(r).Consent.Contact }},
		{"consent_marketing", "Marketing Consent", "Marketing Consent", func(r *record) any { return l(r).Consent.Marketing }},
		{"consent_version", "Consent Version", "Consent Version", func(r *record) any { return l(r).Consent.Version }},
		{"consent_text_hash", "Consent Text Hash", "Consent Text Hash", func(r *record) any { return l(r).Consent.TextHash }},
		{"consent_at", "Consent Time", "Consent Time", func(r *record) any { return l(r).Consent.At }},
		{"consent_ip", "", "", func(r *record) any { return l(r).Consent.IP }},
		{"source", "Capture Source", "Capture Source", func(r *record) any { return l(r).Source }},
		{"", "", "Lead Source", func(r *record) any { return "Trade Show" }},
		{"device_id", "", "", func(r *record) any { return l(r).DeviceID }},
		{"submission_id", "", "", func(r *record) any { return l(r).SubmissionID }},
		{"spam", "", "", func(r *record) any { return l(r).Spam }},
		{"spam_reason", "", "", func(r *record) any { return l(r).SpamReason }},
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

// answerValue reads the answer to q: a float64, a []string, a date, or a
// string, as stored; nil when the lead has none.
func answerValue(q leadcap.Question) func(r *record) any {
	return func(r *record) any {
		v, ok := r.lead.Answers[q.ID]
		if !ok {
			return nil
		}
		if s, isString := v.(string); isString && q.Type == leadcap.QuestionDate {
			return date(s)
		}
		return v
	}
}

// orEmpty returns list, or an empty list for nil, so JSON has [] not null.
func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
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
