package web

import (
	"slices"

	"github.com/leadcap/leadcap"
)

// addErrors puts each problem of errs (keyed as leadcap.ErrorFields keys
// them) beside its field and in the error summary, in the page's language.
// intake's messages are English; the page shows the catalog's message for
// the kind of field instead, so a visitor reads errors in the form's
// language. Problems with no field of their own are listed under "Form".
func (v *formView) addErrors(c *leadcap.Conference, errs map[string]string) {
	if len(errs) == 0 {
		return
	}
	seen := map[string]bool{}
	all := append(append(append([]*field{}, v.About...), v.Interests), v.Questions...)
	all = append(all, v.Consent...)
	for _, f := range all {
		if f == nil {
			continue
		}
		if _, bad := errs[f.Key]; !bad {
			continue
		}
		seen[f.Key] = true
		f.Err = v.message(f)
		label := f.Label
		if f.Kind == "consent" {
			label = v.T("form.consent") // the box's label is a sentence
		}
		v.Summary = append(v.Summary, summaryItem{Target: f.target(), Label: label, Message: f.Err})
	}
	var rest []string
	for k := range errs {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		msg := v.T("err.other")
		if k == "consent.version" {
			msg = v.T("err.consent_version")
		}
		v.Summary = append(v.Summary, summaryItem{Target: "lead", Label: v.T("errors.form"), Message: msg})
	}
}

// message is the catalog's message for a problem with f, chosen by the
// field's kind and whether the visitor left it empty; the JavaScript
// chooses its messages the same way.
func (v *formView) message(f *field) string {
	if f.Kind == "consent" {
		return v.T("err.consent")
	}
	if f.empty() {
		return v.T("err.required")
	}
	switch f.Kind {
	case "email":
		return v.T("err.email")
	case "phone":
		return v.T("err.phone")
	case "country":
		return v.T("err.country")
	case leadcap.QuestionSingle, leadcap.QuestionMulti:
		return v.T("err.choice")
	case leadcap.QuestionDate:
		return v.T("err.date")
	case leadcap.QuestionNumber:
		switch {
		case f.Min != "" && f.Max != "":
			return v.T("err.number_range", "min", f.Min, "max", f.Max)
		case f.Min != "":
			return v.T("err.number_min", "min", f.Min)
		case f.Max != "":
			return v.T("err.number_max", "max", f.Max)
		}
		return v.T("err.number")
	}
	return v.T("err.text")
}
