package web

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/kiosk"
)

// base is what every page shows: the language, its switch, and the
// conference's name, dates and venue.
type base struct {
	*catalog
	Lang  string
	Langs []langLink
	Conf  confView
	Title string
}

type langLink struct {
	Code, Name, URL string
	Current         bool
}

type confView struct {
	Name, Dates, Venue string
}

// noticeView is a page that explains why there is no form.
type noticeView struct {
	base
	Text string
	Back string // link back to the form, if any
}

// thanksView is the thank-you page of the form without JavaScript.
type thanksView struct {
	base
	Kiosk   bool
	Again   string // the empty form
	Refresh string // meta refresh in kiosk mode: "5;url=..."
}

// formView is the booth form.
type formView struct {
	base
	Slug, Action   string
	Modules        []string // JavaScript modules to preload
	About          []*field
	Interests      *field
	Questions      []*field
	ConsentText    string
	ConsentVersion int
	Consent        []*field
	SubmissionID   string
	Summary        []summaryItem
	Kiosk          string // "", "1", or the device token
	Device         kiosk.Device
	ThanksMS       int64
	IdleMS         int64
	Messages       map[string]string // for the JavaScript, in this language
	Shield         template.HTML     // the abuse defences' hidden fields
}

// field is one input, or one group of radio buttons or checkboxes.
type field struct {
	Key          string // as errors name it: "email", "answers.size", "consent.contact"
	Name         string // the form field: "email", "answers.size", "consent_contact"
	ID           string
	Label        string
	Kind         string // what the value is, for checks: text, email, phone, country, number, date, single, multi, consent
	Type         string // input type, or select, radios, checkboxes
	Value        string
	Required     bool
	Req          string // the word "required" in the page's language
	Autocomplete string
	Inputmode    string
	Min, Max     string
	Hint         string
	Options      []choiceView
	Err          string
}

type choiceView struct {
	Value, Label, ID string
	Checked          bool
}

type summaryItem struct {
	Target, Label, Message string
}

// empty reports whether the visitor gave no value for f.
func (f *field) empty() bool {
	if f.Options != nil && f.Type != "select" {
		for _, o := range f.Options {
			if o.Checked {
				return false
			}
		}
		return true
	}
	return strings.TrimSpace(f.Value) == ""
}

// target is the element an error summary links to.
func (f *field) target() string {
	if f.Type == "radios" || f.Type == "checkboxes" {
		if len(f.Options) > 0 {
			return f.Options[0].ID
		}
	}
	return f.ID
}

// elementID turns a field name into an element id: "answers.size" becomes
// "f-answers-size". Question ids are a-z, 0-9, '_' and '-', so ids are
// unique and need no escaping in CSS selectors.
func elementID(name string) string {
	return "f-" + strings.ReplaceAll(name, ".", "-")
}

// buildForm makes the form of c in the language of cat, showing values as
// the visitor sent them and the problems errs names (by error key, in the
// English of intake).
func (b *Booth) buildForm(c *leadcap.Conference, cat *catalog, k kioskMode, values url.Values, errs map[string]string) *formView {
	v := &formView{
		base:           b.baseOf(c, cat, k),
		Slug:           c.Slug,
		Action:         "/c/" + c.Slug,
		Modules:        b.preload,
		ConsentText:    localized(c.Consent.Texts, cat.code, c.Consent.Text),
		ConsentVersion: c.Consent.Version,
		Kiosk:          k.token,
		Device:         k.device,
		ThanksMS:       b.opts.KioskThanks.Milliseconds(),
		IdleMS:         b.opts.KioskIdle.Milliseconds(),
		Messages:       b.jsMessages[cat.code],
		SubmissionID:   values.Get("submission_id"),
	}
	if b.opts.Shield != nil {
		v.Shield = b.opts.Shield.Fields(c)
	}
	// A form sent back with problems keeps its id: if the first try was
	// stored after all, sending it again cannot store it twice.
	if _, bad := errs["submission_id"]; bad || v.SubmissionID == "" {
		v.SubmissionID = newSubmissionID()
	}
	v.Title = cat.T("page.title", "conference", v.Conf.Name)
	req := cat.T("form.required")
	auto := func(name string) string {
		if k.on() {
			return "off"
		}
		return name
	}
	text := func(name, kind, typ, autocomplete, inputmode string, required bool) *field {
		return &field{Key: name, Name: name, ID: elementID(name), Label: cat.T("field." + name), Kind: kind, Type: typ,
			Value: values.Get(name), Required: required, Req: req, Autocomplete: auto(autocomplete), Inputmode: inputmode}
	}
	country := text("country", "country", "select", "country", "", false)
	country.Hint = cat.T("field.country_choose")
	for _, o := range cat.countries {
		country.Options = append(country.Options, choiceView{Value: o.Value, Label: o.Label, Checked: o.Value == country.Value})
	}
	v.About = []*field{
		text("first_name", "text", "text", "given-name", "", false),
		text("last_name", "text", "text", "family-name", "", false),
		text("email", "email", "email", "email", "email", true),
		text("phone", "phone", "tel", "tel", "tel", false),
		text("company", "text", "text", "organization", "", false),
		text("job_title", "text", "text", "organization-title", "", false),
		country,
	}
	if len(c.Interests) > 0 {
		f := &field{Key: "interests", Name: "interests", ID: elementID("interests"), Label: cat.T("field.interests"),
			Kind: "multi", Type: "checkboxes", Req: req}
		f.Options = choices(f.ID, c.Interests, cat.code, values["interests"])
		v.Interests = f
	}
	for _, q := range c.Questions {
		v.Questions = append(v.Questions, questionField(q, cat, req, auto, values))
	}
	contact := &field{Key: "consent.contact", Name: "consent_contact", ID: elementID("consent_contact"),
		Label: cat.T("consent.contact"), Kind: "consent", Required: true, Req: req}
	marketing := &field{Key: "consent.marketing", Name: "consent_marketing", ID: elementID("consent_marketing"),
		Label: cat.T("consent.marketing"), Kind: "consent", Req: req}
	for _, f := range []*field{contact, marketing} {
		switch strings.ToLower(strings.TrimSpace(values.Get(f.Name))) {
		case "on", "true", "yes", "1":
			f.Value = "on"
		}
	}
	v.Consent = []*field{contact, marketing}
	v.addErrors(c, errs)
	return v
}

// questionField makes the input of one qualifying question.
func questionField(q leadcap.Question, cat *catalog, req string, auto func(string) string, values url.Values) *field {
	name := "answers." + q.ID
	f := &field{Key: name, Name: name, ID: elementID(name), Label: localized(q.Labels, cat.code, q.Label),
		Kind: q.Type, Required: q.Required, Req: req, Value: values.Get(name), Autocomplete: auto("off")}
	switch q.Type {
	case leadcap.QuestionSingle:
		f.Type = "radios"
		f.Options = choices(f.ID, q.Choices, cat.code, values[name])
	case leadcap.QuestionMulti:
		f.Type = "checkboxes"
		f.Options = choices(f.ID, q.Choices, cat.code, values[name])
	case leadcap.QuestionNumber:
		f.Type, f.Inputmode = "number", "decimal"
		if q.Min != nil {
			f.Min = strconv.FormatFloat(*q.Min, 'g', -1, 64)
		}
		if q.Max != nil {
			f.Max = strconv.FormatFloat(*q.Max, 'g', -1, 64)
		}
	case leadcap.QuestionDate:
		f.Type = "date"
	default:
		f.Type = "text"
	}
	return f
}

// choices lists the options of a choice question or of the interests,
// ticking those in chosen.
func choices(id string, list []leadcap.Choice, lang string, chosen []string) []choiceView {
	out := make([]choiceView, 0, len(list))
	for i, ch := range list {
		label := ch.Label
		if label == "" {
			label = ch.Value
		}
		checked := false
		for _, c := range chosen {
			checked = checked || c == ch.Value
		}
		out = append(out, choiceView{Value: ch.Value, Label: localized(ch.Labels, lang, label), ID: id + "-" + strconv.Itoa(i), Checked: checked})
	}
	return out
}

// baseOf is the part of every page about c in cat's language.
func (b *Booth) baseOf(c *leadcap.Conference, cat *catalog, k kioskMode) base {
	v := base{catalog: cat, Lang: cat.code}
	if c != nil {
		v.Conf = confView{Name: localized(c.Names, cat.code, c.Name), Dates: cat.dateRange(c.StartDate, c.EndDate), Venue: c.Venue}
		for _, l := range b.langs.list {
			v.Langs = append(v.Langs, langLink{Code: l.code, Name: l.T("lang.name"), URL: formURL(c.Slug, l.code, k), Current: l == cat})
		}
	}
	return v
}

// formURL is the address of the form of slug in the language lang ("" for
// the visitor's own) and kiosk mode k.
func formURL(slug, lang string, k kioskMode) string {
	q := url.Values{}
	if lang != "" {
		q.Set("lang", lang)
	}
	switch {
	case k.token == "1":
		q.Set("kiosk", "1")
	case k.token != "":
		q.Set("device", k.token)
	}
	u := "/c/" + slug
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}
