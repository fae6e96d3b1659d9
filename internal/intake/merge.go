package intake

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
)

// MergeLead returns the lead that results when incoming, a newly validated
// submission, is merged into existing, the stored lead with the same
// conference and EmailKey. Neither argument is modified.
//
//   - ID, ConferenceID, CreatedAt, SubmissionID and Source stay those of
//     existing; UpdatedAt becomes incoming's.
//   - Every other text field takes incoming's value when it is not empty.
//   - Interests are united: existing's first, then incoming's new ones.
//   - Answers are united; where both answer a question, incoming wins.
//   - Notes keep existing's text and add incoming's after a blank line,
//     unless existing already holds it; the result is cut to its most
//     recent 20000 characters, so repeated submissions cannot grow it
//     without bound.
//   - Consent is incoming's as a whole, withdrawn marketing consent
//     included: it is what the visitor agreed to last.
//   - The lead is spam if either was flagged; the reason is incoming's
//     when it is flagged, else existing's.
//   - History is existing's followed by incoming's.
func MergeLead(existing, incoming *leadcap.Lead) *leadcap.Lead {
	if existing == nil {
		return cloneLead(incoming)
	}
	m := cloneLead(existing)
	if incoming == nil {
		return m
	}
	for _, f := range []struct{ dst, src *string }{
		{&m.FirstName, &incoming.FirstName},
		{&m.LastName, &incoming.LastName},
		{&m.Email, &incoming.Email},
		{&m.Phone, &incoming.Phone},
		{&m.Company, &incoming.Company},
		{&m.JobTitle, &incoming.JobTitle},
		{&m.Country, &incoming.Country},
		{&m.DeviceID, &incoming.DeviceID},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	for _, s := range incoming.Interests {
		if !slices.Contains(m.Interests, s) {
			m.Interests = append(m.Interests, s)
		}
	}
	if len(incoming.Answers) > 0 {
		if m.Answers == nil {
			m.Answers = make(leadcap.Answers, len(incoming.Answers))
		}
		for id, a := range incoming.Answers {
			m.Answers[id] = cloneAnswer(a)
		}
	}
	m.Notes = mergeNotes(m.Notes, incoming.Notes)
	m.Consent = incoming.Consent
	if incoming.Spam {
		m.Spam, m.SpamReason = true, incoming.SpamReason
	}
	m.History = append(m.History, incoming.History...)
	m.UpdatedAt = incoming.UpdatedAt
	return m
}

// mergeNotes appends add to old after a blank line, unless old holds it.
func mergeNotes(old, add string) string {
	switch {
	case add == "" || strings.Contains(old, add):
		return old
	case old == "":
		return add
	}
	s := old + "\n\n" + add
	if n := utf8.RuneCountInString(s); n > maxMergedNotes {
		// Drop the oldest text, at a rune boundary.
		for i := range s {
			if n == maxMergedNotes {
				s = strings.TrimLeft(s[i:], " \t\n")
				break
			}
			n--
		}
	}
	return s
}

// cloneLead returns a copy of l that shares no slice or map with it.
func cloneLead(l *leadcap.Lead) *leadcap.Lead {
	if l == nil {
		return nil
	}
	c := *l
	c.Interests = slices.Clone(l.Interests)
	c.History = slices.Clone(l.History)
	if l.Answers != nil {
		c.Answers = make(leadcap.Answers, len(l.Answers))
		for id, a := range l.Answers {
			c.Answers[id] = cloneAnswer(a)
		}
	}
	return &c
}

func cloneAnswer(a any) any {
	if list, ok := a.([]string); ok {
		return slices.Clone(list)
	}
	return a
}
