package intake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

// Limits of what staff add to a lead.
const (
	MaxTags    = 20   // tags on one lead
	maxTag     = 32   // runes in a tag
	MaxNoteLen = 5000 // runes in a staff note
)

// NormalizeTags checks the tags staff give a lead and returns them
// normalised: Unicode NFC, lower case, inner white space as one space,
// without duplicates, sorted. A tag is 1 to 32 letters, digits, spaces,
// '-', '_' or '.'. Tags are labels kept unencrypted so that leads can be
// filtered by them; anything personal belongs in a note.
func NormalizeTags(tags []string) ([]string, error) {
	bad := func(msg string) error { return leadcap.FieldErrors(map[string]string{"tags": msg}) }
	if len(tags) > MaxTags {
		return nil, bad(fmt.Sprintf("has too many tags (at most %d)", MaxTags))
	}
	out := []string{}
	for _, t := range tags {
		t, p := cleanText(t, 4*maxTag, false)
		if p != "" {
			return nil, bad(p)
		}
		t = strings.Join(strings.Fields(strings.ToLower(t)), " ")
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > maxTag {
			return nil, bad(fmt.Sprintf("has a tag longer than %d characters", maxTag))
		}
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.", r) {
				return nil, bad("may only hold letters, digits, spaces, '-', '_' and '.'")
			}
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CheckNote returns a staff note's text cleaned (NFC, trimmed, line breaks
// as LF), or an error naming the field "note".
func CheckNote(text string) (string, error) {
	text, p := cleanText(text, MaxNoteLen, true)
	if p == "" && text == "" {
		p = msgRequired
	}
	if p != "" {
		return "", leadcap.FieldErrors(map[string]string{"note": p})
	}
	return text, nil
}

// Correction is an admin's rectification of a lead's personal fields:
// each field that is not nil replaces the stored value. An answer given as
// JSON null removes it.
type Correction struct {
	FirstName *string                    `json:"first_name"`
	LastName  *string                    `json:"last_name"`
	Email     *string                    `json:"email"`
	Phone     *string                    `json:"phone"`
	Company   *string                    `json:"company"`
	JobTitle  *string                    `json:"job_title"`
	Country   *string                    `json:"country"`
	Interests *[]string                  `json:"interests"`
	Answers   map[string]json.RawMessage `json:"answers"`
	Notes     *string                    `json:"notes"`
}

// Correct applies k to l, a stored lead of conference c, with the checks
// and normalisation of a submission, and returns the names of the fields
// whose value changed (for the audit trail, which records names, never
// values). Only the fields k gives are checked, so a lead that predates a
// change of the conference's questions can still be corrected. Problems
// are one EINVALID error naming each field; l may then be partly changed
// and must not be stored.
func Correct(l *leadcap.Lead, c *leadcap.Conference, k Correction) ([]string, error) {
	v := &validator{}
	var changed []string
	set := func(field string, dst *string, val string) {
		if !v.has(field) && *dst != val {
			*dst = val
			changed = append(changed, field)
		}
	}
	text := func(field string, src *string, dst *string, max int, multiline bool) {
		if src != nil {
			set(field, dst, v.text(field, *src, max, multiline))
		}
	}
	text("first_name", k.FirstName, &l.FirstName, maxName, false)
	text("last_name", k.LastName, &l.LastName, maxName, false)
	text("company", k.Company, &l.Company, maxCompany, false)
	text("job_title", k.JobTitle, &l.JobTitle, maxCompany, false)
	text("notes", k.Notes, &l.Notes, maxNotes, true)
	if k.Email != nil {
		e, p := normalizeEmail(*k.Email)
		if p != "" {
			v.add("email", p)
		}
		set("email", &l.Email, e)
	}
	if k.Country != nil {
		cc, p := normalizeCountry(*k.Country)
		if p != "" {
			v.add("country", p)
		}
		set("country", &l.Country, cc)
	}
	if k.Phone != nil {
		region := l.Country
		if region == "" {
			region = c.Country
		}
		ph, p := normalizePhone(*k.Phone, region)
		if p != "" {
			v.add("phone", p)
		}
		set("phone", &l.Phone, ph)
	}
	if k.Interests != nil {
		in := v.interests(*k.Interests, c.Interests)
		if !v.has("interests") && !slices.Equal(in, l.Interests) {
			l.Interests = in
			changed = append(changed, "interests")
		}
	}
	for id, raw := range k.Answers {
		field := "answers." + id
		i := findQuestion(c.Questions, id)
		if i < 0 {
			if validQuestionID(id) {
				v.add(field, "is not a question of this conference")
			} else {
				v.add("answers", "names a question this conference does not have")
			}
			continue
		}
		val, p := answer(&c.Questions[i], raw, false)
		switch {
		case p != "":
			v.add(field, p)
		case val == nil && c.Questions[i].Required:
			v.add(field, msgRequired)
		case val == nil:
			if _, ok := l.Answers[id]; ok {
				delete(l.Answers, id)
				changed = append(changed, field)
			}
		default:
			old, _ := json.Marshal(l.Answers[id])
			now, _ := json.Marshal(val)
			if string(old) != string(now) {
				if l.Answers == nil {
					l.Answers = leadcap.Answers{}
				}
				l.Answers[id] = val
				changed = append(changed, field)
			}
		}
	}
	if err := leadcap.FieldErrors(v.fields); err != nil {
		return nil, err
	}
	slices.Sort(changed)
	return changed, nil
}
