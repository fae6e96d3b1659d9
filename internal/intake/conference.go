package intake

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/leadcap/leadcap"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Limits of a conference definition.
const (
	minSlug          = 3
	maxSlug          = 64
	maxConfName      = 200 // name, venue, and a choice's label
	maxQuestions     = 50
	maxQuestionID    = 40
	maxLabel         = 500
	maxChoices       = 100 // choices of one question
	maxChoice        = 100 // runes in a choice value
	maxConfInterests = 100
	maxConsentText   = 10000
)

// ValidateConference checks a conference definition made by an operator
// and normalises it in place: every text in Unicode NFC with surrounding
// white space removed, the slug in lower case and the country in upper
// case. It checks the slug (3 to 64 of a-z, 0-9 and single inner hyphens),
// name (required), country (ISO 3166-1 alpha-2), time zone (IANA), dates
// (YYYY-MM-DD, end not before start), status, questions (at most 50, unique
// ids of 1 to 40 of a-z, 0-9, '_' and '-', a known type, a label, choices
// for choice questions only, Min not above Max for numbers only),
// interests (at most 100, unique), consent text (required once open) and
// translations keyed by canonical BCP 47 language tags. Since normalising
// may change the consent text, it sets Consent.Hash to the ConsentHash of
// the normalised text; deciding whether that makes a new Consent.Version is
// the caller's.
//
// All problems are returned together as one EINVALID error whose Fields
// name each bad field by its JSON path, e.g. "questions.2.choices.0.value".
func ValidateConference(c *leadcap.Conference) error {
	v := &validator{}
	c.Slug = strings.ToLower(v.text("slug", c.Slug, maxSlug, false))
	switch {
	case c.Slug == "" && !v.has("slug"):
		v.add("slug", msgRequired)
	case len(c.Slug) < minSlug && !v.has("slug"):
		v.add("slug", "must be at least 3 characters long")
	case !validSlug(c.Slug):
		v.add("slug", "may only contain a-z, 0-9 and single hyphens between them")
	}
	c.Name = v.required("name", c.Name, maxConfName)
	c.Venue = v.text("venue", c.Venue, maxConfName, false)
	var p string
	if c.Country, p = normalizeCountry(c.Country); p != "" {
		v.add("country", p)
	}
	c.TimeZone = v.text("time_zone", c.TimeZone, 64, false)
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
			v.add("time_zone", "is not a known IANA time zone")
		}
	}
	c.StartDate = v.date("start_date", c.StartDate)
	c.EndDate = v.date("end_date", c.EndDate)
	if c.StartDate != "" && c.EndDate != "" && c.EndDate < c.StartDate {
		v.add("end_date", "must not be before the start date")
	}
	switch c.Status {
	case leadcap.StatusDraft, leadcap.StatusOpen, leadcap.StatusClosed:
	default:
		v.add("status", "must be draft, open or closed")
	}
	v.labels("names", c.Names, maxConfName, false)

	if len(c.Questions) > maxQuestions {
		v.add("questions", "has too many questions (at most 50)")
	}
	for i := range c.Questions {
		v.question("questions."+strconv.Itoa(i), &c.Questions[i], c.Questions[:i])
	}
	if len(c.Interests) > maxConfInterests {
		v.add("interests", "has too many interests (at most 100)")
	}
	v.choices("interests", c.Interests)

	c.Consent.Text = v.text("consent.text", c.Consent.Text, maxConsentText, true)
	if c.Consent.Text == "" && c.Status == leadcap.StatusOpen && !v.has("consent.text") {
		v.add("consent.text", "is required before the conference opens")
	}
	v.labels("consent.texts", c.Consent.Texts, maxConsentText, true)
	c.Consent.Hash = ConsentHash(c.Consent.Text, c.Consent.Texts)
	return leadcap.FieldErrors(v.fields)
}

// question checks and normalises q, the question at path, given the
// questions before it.
func (v *validator) question(path string, q *leadcap.Question, before []leadcap.Question) {
	q.ID = strings.TrimSpace(q.ID)
	switch {
	case !validQuestionID(q.ID):
		v.add(path+".id", "must be 1 to 40 of a-z, 0-9, '_' and '-'")
	case findQuestion(before, q.ID) >= 0:
		v.add(path+".id", "is the id of another question")
	}
	q.Label = v.required(path+".label", q.Label, maxLabel)
	v.labels(path+".labels", q.Labels, maxLabel, false)

	choice := q.Type == leadcap.QuestionSingle || q.Type == leadcap.QuestionMulti
	switch q.Type {
	case leadcap.QuestionText, leadcap.QuestionSingle, leadcap.QuestionMulti,
		leadcap.QuestionNumber, leadcap.QuestionDate:
	default:
		v.add(path+".type", "must be text, single, multi, number or date")
	}
	switch {
	case choice && len(q.Choices) == 0:
		v.add(path+".choices", msgRequired)
	case choice && len(q.Choices) > maxChoices:
		v.add(path+".choices", "has too many choices (at most 100)")
	case !choice && len(q.Choices) > 0:
		v.add(path+".choices", "are only allowed for single and multi questions")
	}
	v.choices(path+".choices", q.Choices)

	if q.Type != leadcap.QuestionNumber {
		if q.Min != nil {
			v.add(path+".min", "is only allowed for number questions")
		}
		if q.Max != nil {
			v.add(path+".max", "is only allowed for number questions")
		}
		return
	}
	finite := func(f *float64) bool { return f == nil || !math.IsInf(*f, 0) && !math.IsNaN(*f) }
	switch {
	case !finite(q.Min):
		v.add(path+".min", "must be a finite number")
	case !finite(q.Max):
		v.add(path+".max", "must be a finite number")
	case q.Min != nil && q.Max != nil && *q.Min > *q.Max:
		v.add(path+".max", "must not be less than min")
	}
}

// choices checks and normalises the offered values at path: each has a
// unique value and, optionally, labels.
func (v *validator) choices(path string, choices []leadcap.Choice) {
	for i := range choices {
		ch := &choices[i]
		p := path + "." + strconv.Itoa(i)
		ch.Value = v.required(p+".value", ch.Value, maxChoice)
		if ch.Value != "" && hasChoice(choices[:i], ch.Value) {
			v.add(p+".value", "is the value of another choice")
		}
		ch.Label = v.text(p+".label", ch.Label, maxConfName, false)
		v.labels(p+".labels", ch.Labels, maxConfName, false)
	}
}

// labels checks and normalises translations keyed by language tag.
func (v *validator) labels(path string, m map[string]string, max int, multiline bool) {
	for lang, s := range m {
		field := path + "." + lang
		if tag, err := language.Parse(lang); err != nil || tag.String() != lang {
			field = path
			v.add(field, "must be keyed by language tags such as en or pt-BR")
		}
		m[lang] = v.text(field, s, max, multiline)
	}
}

// required is text for a field that must not be empty.
func (v *validator) required(field, s string, max int) string {
	s = v.text(field, s, max, false)
	if s == "" && !v.has(field) {
		v.add(field, msgRequired)
	}
	return s
}

// date is text for an optional YYYY-MM-DD date.
func (v *validator) date(field, s string) string {
	s = v.text(field, s, 10, false)
	if s != "" && !validDate(s) {
		v.add(field, "must be a date written YYYY-MM-DD")
	}
	return s
}

// validSlug reports whether s is made of runs of a-z and 0-9 joined by
// single hyphens.
func validSlug(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// validQuestionID reports whether id is 1 to 40 of a-z, 0-9, '_' and '-'.
func validQuestionID(id string) bool {
	if id == "" || len(id) > maxQuestionID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// NormalizeSlug turns s, a slug as typed or a conference name, into slug
// form: lower case, accents removed, and every run of other characters
// replaced by one hyphen, with none at either end, cut to at most 64 bytes
// at a hyphen where it can. A valid slug is returned unchanged; the result
// may still be too short to be valid.
func NormalizeSlug(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFD.String(s) {
		r = unicode.ToLower(r)
		switch {
		case unicode.Is(unicode.Mn, r): // accents, once decomposed
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
	}
	out := b.String()
	if len(out) > maxSlug {
		out = out[:maxSlug]
		if i := strings.LastIndexByte(out, '-'); i >= minSlug {
			out = out[:i]
		}
		out = strings.TrimRight(out, "-")
	}
	return out
}

// ConsentHash returns the hex SHA-256 of a consent text and its
// translations, as stored in leadcap.ConsentText.Hash. The hashed bytes are
// a canonical encoding: each string as its length in bytes (8 bytes, big
// endian) followed by its bytes; first the text, then for each translation
// in byte order of its language tag the tag and the translated text.
func ConsentHash(text string, texts map[string]string) string {
	h := sha256.New()
	write := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write(text)
	langs := make([]string, 0, len(texts))
	for lang := range texts {
		langs = append(langs, lang)
	}
	slices.Sort(langs)
	for _, lang := range langs {
		write(lang)
		write(texts[lang])
	}
	return hex.EncodeToString(h.Sum(nil))
}
