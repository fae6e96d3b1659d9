package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/leadcap/leadcap"
)

// Validate checks in against conference c and returns the lead it makes,
// normalised: every text in Unicode NFC and trimmed, the email's domain in
// lower-case ASCII, the phone in E.164, the country upper-case, interests
// deduplicated and answers of the types documented on leadcap.Answers. The
// lead has no ID yet; its consent is the conference's current version,
// given at now, which is also its creation and update time. An empty source
// becomes "form"; which sources a client may claim is for the caller to
// decide. Validate reads neither the abuse-defence fields nor c's status.
//
// All problems are returned together as one EINVALID error whose Fields
// name each bad field by its JSON name, e.g. "email" or "answers.budget".
func Validate(in *Input, c *leadcap.Conference, now time.Time) (*leadcap.Lead, error) {
	if in == nil || c == nil {
		return nil, errors.New("intake: validate: nil input or conference")
	}
	v := &validator{}
	l := &leadcap.Lead{
		ConferenceID: c.ID,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if in.Conference != "" && in.Conference != c.ID && in.Conference != c.Slug {
		v.add("conference", "does not match the conference of the form")
	}

	l.SubmissionID = v.text("submission_id", in.SubmissionID, maxID, false)
	switch {
	case l.SubmissionID == "" && !v.has("submission_id"):
		v.add("submission_id", msgRequired)
	case !validToken(l.SubmissionID):
		v.add("submission_id", msgBadIDCharset)
	}
	l.DeviceID = v.text("device_id", in.DeviceID, maxID, false)
	if !validToken(l.DeviceID) {
		v.add("device_id", msgBadIDCharset)
	}

	l.FirstName = v.text("first_name", in.FirstName, maxName, false)
	l.LastName = v.text("last_name", in.LastName, maxName, false)
	l.Company = v.text("company", in.Company, maxCompany, false)
	l.JobTitle = v.text("job_title", in.JobTitle, maxCompany, false)
	l.Notes = v.text("notes", in.Notes, maxNotes, true)

	var p string
	if l.Email, p = normalizeEmail(in.Email); p != "" {
		v.add("email", p)
	}
	if l.Country, p = normalizeCountry(in.Country); p != "" {
		v.add("country", p)
	}
	region := l.Country
	if region == "" {
		region = c.Country
	}
	if l.Phone, p = normalizePhone(in.Phone, region); p != "" {
		v.add("phone", p)
	}

	l.Interests = v.interests(in.Interests, c.Interests)
	l.Answers = v.answers(in.Answers, c.Questions, in.fromForm)

	if !in.Consent.Contact {
		v.add("consent.contact", "must be accepted")
	}
	if in.Consent.Version != 0 && in.Consent.Version != c.Consent.Version {
		v.add("consent.version", "is out of date")
	}
	l.Consent = leadcap.Consent{
		Contact:   in.Consent.Contact,
		Marketing: in.Consent.Marketing,
		Version:   c.Consent.Version,
		TextHash:  c.Consent.Hash,
		At:        now,
	}

	l.Source = v.text("source", in.Source, maxSource, false)
	switch l.Source {
	case "":
		if !v.has("source") {
			l.Source = leadcap.SourceForm
		}
	case leadcap.SourceForm, leadcap.SourceKiosk, leadcap.SourceStaff, leadcap.SourceAPI, leadcap.SourceImport:
	default:
		v.add("source", "must be one of form, kiosk, staff, api, import")
	}

	if err := leadcap.FieldErrors(v.fields); err != nil {
		return nil, err
	}
	return l, nil
}

// validator collects the problems of one submission by field name.
type validator struct {
	fields map[string]string
}

// add records problem for field, unless the field already has one.
func (v *validator) add(field, problem string) {
	if v.fields == nil {
		v.fields = make(map[string]string)
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = problem
	}
}

func (v *validator) has(field string) bool {
	_, ok := v.fields[field]
	return ok
}

// text returns s cleaned by cleanText, recording its problem if any.
func (v *validator) text(field, s string, max int, multiline bool) string {
	s, p := cleanText(s, max, multiline)
	if p != "" {
		v.add(field, p)
	}
	return s
}

// interests returns the chosen interests, deduplicated in the order given,
// checking each is one the conference offers.
func (v *validator) interests(in []string, offered []leadcap.Choice) []string {
	var out []string
	for _, s := range in {
		s = v.text("interests", s, maxChoice, false)
		if s == "" {
			continue
		}
		if len(offered) == 0 {
			v.add("interests", "must be empty: this conference offers no interests")
			return nil
		}
		if !hasChoice(offered, s) {
			v.add("interests", "contains a value this conference does not offer")
			continue
		}
		if !contains(out, s) {
			if out == nil {
				out = make([]string, 0, len(in))
			}
			out = append(out, s)
		}
	}
	return out
}

// answers returns the answers to the questions, each checked and converted
// to its stored type.
func (v *validator) answers(in map[string]json.RawMessage, questions []leadcap.Question, fromForm bool) leadcap.Answers {
	for id := range in {
		if findQuestion(questions, id) < 0 {
			if validQuestionID(id) {
				v.add("answers."+id, "is not a question of this conference")
			} else {
				v.add("answers", "names a question this conference does not have")
			}
		}
	}
	var out leadcap.Answers
	for i := range questions {
		q := &questions[i]
		val, p := answer(q, in[q.ID], fromForm)
		switch {
		case p != "":
			v.add("answers."+q.ID, p)
		case val == nil:
			if q.Required {
				v.add("answers."+q.ID, msgRequired)
			}
		default:
			if out == nil {
				out = make(leadcap.Answers, len(questions))
			}
			out[q.ID] = val
		}
	}
	return out
}

// answer returns the stored value of the answer raw to q, nil when there is
// no answer, or a problem.
func answer(q *leadcap.Question, raw json.RawMessage, fromForm bool) (any, string) {
	kind := rawKind(raw)
	if kind == 0 {
		return nil, ""
	}
	switch q.Type {
	case leadcap.QuestionText, leadcap.QuestionSingle, leadcap.QuestionDate:
		if kind != '"' {
			if fromForm && kind == '[' {
				return nil, "must be a single value"
			}
			return nil, typeProblem(q.Type)
		}
		s, ok := rawString(raw)
		if !ok {
			return nil, typeProblem(q.Type)
		}
		max := maxTextAnswer
		if q.Type != leadcap.QuestionText {
			max = maxChoice
		}
		s, p := cleanText(s, max, false)
		if p != "" || s == "" {
			return nil, p
		}
		switch {
		case q.Type == leadcap.QuestionSingle && !hasChoice(q.Choices, s):
			return nil, "is not one of the choices"
		case q.Type == leadcap.QuestionDate && !validDate(s):
			return nil, "must be a date written YYYY-MM-DD"
		}
		return s, ""

	case leadcap.QuestionMulti:
		var list []string
		switch {
		case kind == '[':
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, typeProblem(q.Type)
			}
		case kind == '"' && fromForm: // one ticked box
			s, ok := rawString(raw)
			if !ok {
				return nil, typeProblem(q.Type)
			}
			list = []string{s}
		default:
			return nil, typeProblem(q.Type)
		}
		if len(list) > MaxAnswerValues {
			return nil, fmt.Sprintf("has too many values (at most %d)", MaxAnswerValues)
		}
		out := make([]string, 0, len(list))
		for _, s := range list {
			s, p := cleanText(s, maxChoice, false)
			switch {
			case p != "":
				return nil, p
			case s == "":
				continue
			case !hasChoice(q.Choices, s):
				return nil, "contains a value that is not one of the choices"
			case contains(out, s):
				return nil, "contains a choice more than once"
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, ""
		}
		return out, ""

	case leadcap.QuestionNumber:
		var s string
		switch {
		case kind == 'n':
			s = string(raw)
		case kind == '"' && fromForm:
			var ok bool
			if s, ok = rawString(raw); !ok {
				return nil, typeProblem(q.Type)
			}
			var p string
			if s, p = cleanText(s, 64, false); p != "" || s == "" {
				return nil, p
			}
		default:
			return nil, typeProblem(q.Type)
		}
		if !isJSONNumber(s) {
			return nil, typeProblem(q.Type)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, "must be a finite number"
		}
		if f == 0 {
			f = 0 // no negative zero
		}
		switch {
		case q.Min != nil && f < *q.Min:
			return nil, "must be at least " + strconv.FormatFloat(*q.Min, 'g', -1, 64)
		case q.Max != nil && f > *q.Max:
			return nil, "must be at most " + strconv.FormatFloat(*q.Max, 'g', -1, 64)
		}
		return f, ""
	}
	return nil, "cannot be answered: the question has an unknown type"
}

// rawKind classifies a raw answer by its first byte: '"' string, '['
// list, 'n' number, 'x' anything else, and 0 for no answer (absent or null).
func rawKind(raw json.RawMessage) byte {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"', '[':
			return c
		case 'n':
			return 0 // null
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 'n'
		default:
			return 'x'
		}
	}
	return 0
}

// rawString decodes a raw JSON string, without reflection when it has no
// escapes.
func rawString(raw json.RawMessage) (string, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !hasEscapeOrControl(raw[1:n-1]) {
		return string(raw[1 : n-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func hasEscapeOrControl(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return true
		}
	}
	return false
}

func typeProblem(questionType string) string {
	switch questionType {
	case leadcap.QuestionText:
		return "must be text"
	case leadcap.QuestionSingle:
		return "must be one of the choices"
	case leadcap.QuestionMulti:
		return "must be a list of choices"
	case leadcap.QuestionNumber:
		return "must be a number"
	case leadcap.QuestionDate:
		return "must be a date written YYYY-MM-DD"
	}
	return "has the wrong type"
}

func findQuestion(questions []leadcap.Question, id string) int {
	for i := range questions {
		if questions[i].ID == id {
			return i
		}
	}
	return -1
}

func hasChoice(choices []leadcap.Choice, value string) bool {
	for i := range choices {
		if choices[i].Value == value {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
