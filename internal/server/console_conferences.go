package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/web"
)

// translations are the languages besides English that conference texts
// can be given in: those the booth form speaks.
func (s *Server) translations() []web.Language { return s.console.Translations() }

// conferencesPage lists conferences.
type conferencesPage struct {
	page
	Rows []conferenceRow
}

type conferenceRow struct {
	Conf         *leadcap.Conference
	Dates, Short string
	Leads        int64
}

// shortLink shows a link without its scheme, for people to type.
func shortLink(link string) string {
	return strings.TrimPrefix(strings.TrimPrefix(link, "https://"), "http://")
}

// handleConferencesPage is GET /conferences.
func (s *Server) handleConferencesPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Conferences(r.Context())
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	counts, err := s.Store.LeadCounts(r.Context())
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	cp := conferencesPage{page: s.newPage(r, "Conferences", "conferences")}
	for _, c := range list {
		cp.Rows = append(cp.Rows, conferenceRow{Conf: c, Dates: conferenceDates(c), Short: shortLink(s.formURL(r, c)), Leads: counts[c.ID]})
	}
	s.render(w, r, http.StatusOK, "conferences", cp)
}

// conferencePage is one conference with its QR code.
type conferencePage struct {
	page
	Conf                  *leadcap.Conference
	Dates, FormURL, Short string
	Leads                 int64
	Paper                 string // the printable sign's paper: a4 or letter
}

func (s *Server) conferencePage(r *http.Request) (*conferencePage, error) {
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	n, err := s.Store.CountLeads(r.Context(), c.ID)
	if err != nil {
		return nil, err
	}
	link := s.formURL(r, c)
	return &conferencePage{page: s.newPage(r, c.Name, "conferences"), Conf: c, Dates: conferenceDates(c),
		FormURL: link, Short: shortLink(link), Leads: n}, nil
}

// handleConferencePage is GET /conferences/{id}.
func (s *Server) handleConferencePage(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r, "done"); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	cp, err := s.conferencePage(r)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "conference", cp)
}

// handleSignPage is GET /conferences/{id}/sign: the printable booth sign,
// on A4 (default) or ?paper=letter.
func (s *Server) handleSignPage(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "paper")
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	cp, err := s.conferencePage(r)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	switch cp.Paper = q.Get("paper"); cp.Paper {
	case "":
		cp.Paper = "a4"
	case "a4", "letter":
	default:
		s.writeError(w, r, "console", badQuery(map[string]string{"paper": "must be a4 or letter"}))
		return
	}
	cp.Title = "Sign · " + cp.Conf.Name
	// The sign shows the stored QR code: draw it now if the link changed.
	if _, _, err := s.conferenceQR(r.Context(), r, cp.Conf); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "sign", cp)
}

// handleOpenForm is POST /conferences/{id}/open, and handleCloseForm
// .../close.
func (s *Server) handleOpenForm(w http.ResponseWriter, r *http.Request) {
	s.conferenceStatusForm(w, r, leadcap.StatusOpen, "opened")
}

func (s *Server) handleCloseForm(w http.ResponseWriter, r *http.Request) {
	s.conferenceStatusForm(w, r, leadcap.StatusClosed, "closed")
}

func (s *Server) conferenceStatusForm(w http.ResponseWriter, r *http.Request, status, done string) {
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err == nil {
		err = s.updateConference(r, c, func(c *leadcap.Conference) []string { c.Status = status; return []string{"status"} })
	}
	if err != nil && leadcap.ErrorCode(err) == leadcap.EINVALID {
		// Say what is missing on the conference's page.
		cp, perr := s.conferencePage(r)
		if perr != nil {
			s.writeError(w, r, "console", perr)
			return
		}
		cp.withError(err)
		s.render(w, r, ErrorStatus(err), "conference", cp)
		return
	} else if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	seeOther(w, r, "/conferences/"+c.ID+"?done="+done)
}

// handleDeleteConferenceForm is POST /conferences/{id}/delete; force=true
// deletes its leads too, for admins only.
func (s *Server) handleDeleteConferenceForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	force := r.PostForm.Get("force") == "true"
	if force && r.PostForm.Get("confirm") != "yes" {
		s.writeError(w, r, "console", leadcap.Errorf(leadcap.EINVALID, "tick the box to confirm that the leads go too"))
		return
	}
	if err := s.deleteConference(r, r.PathValue("id"), force); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	seeOther(w, r, "/conferences?done=deleted")
}

// inputView is one form field as the c-input template draws it.
type inputView struct {
	ID, Name, Label, Hint, Type, Value, Lang, Placeholder, Err string
	Required                                                   bool
}

// conferenceForm is the create and edit form.
type conferenceForm struct {
	page
	New                                   bool
	ID, Action                            string
	Name, Slug, Venue, Country, TimeZone  inputView
	Start, End, Interests, Consent        inputView
	NameTranslations, ConsentTranslations []inputView
	Questions                             []questionView
	QuestionsError                        string
	NextConsentVersion                    int
}

type questionView struct {
	Index, Number                 int
	Key, Label, Choices, Min, Max inputView
	Type                          inputView
	TypeOptions                   []option
	Translations                  []inputView
	Required                      bool
	RequiredName                  string
}

// questionTypes are the question types the editor offers.
var questionTypes = []string{leadcap.QuestionSingle, "Choose one", leadcap.QuestionMulti, "Choose any", leadcap.QuestionText, "Text",
	leadcap.QuestionNumber, "Number", leadcap.QuestionDate, "Date"}

// formFor fills the form from conference c and the problems in errs.
func (s *Server) formFor(r *http.Request, c *leadcap.Conference, isNew bool, errs map[string]string) *conferenceForm {
	f := &conferenceForm{page: s.newPage(r, "New conference", "conferences"), New: isNew, ID: c.ID, Action: "/conferences",
		NextConsentVersion: c.Consent.Version + 1}
	if !isNew {
		f.Title, f.Action = "Edit "+c.Name, "/conferences/"+c.ID+"/edit"
	}
	in := func(name, label, typ, value string) inputView {
		return inputView{ID: "f-" + strings.ReplaceAll(name, ".", "-"), Name: name, Label: label, Type: typ, Value: value, Err: errs[name]}
	}
	f.Name = in("name", "Name", "text", c.Name)
	f.Name.Required = true
	f.Slug = in("slug", "Link name", "text", c.Slug)
	f.Slug.Hint, f.Slug.Placeholder = "in the form's address, /c/…; made from the name if empty", "belize-expo-2027"
	f.Venue = in("venue", "Venue", "text", c.Venue)
	f.Country = in("country", "Country", "text", c.Country)
	f.Country.Hint, f.Country.Placeholder = "2 letters; phone numbers default to it", "BZ"
	f.TimeZone = in("time_zone", "Time zone", "text", c.TimeZone)
	f.TimeZone.Placeholder = "America/Belize"
	f.Start = in("start_date", "First day", "date", c.StartDate)
	f.End = in("end_date", "Last day", "date", c.EndDate)
	langs := s.translations()
	f.Interests = in("interests", "Interests offered", "textarea", choicesText(c.Interests, langs))
	f.Interests.Hint = "one per line; a translation after a bar: Diving | Buceo"
	f.Consent = in("consent.text", "Consent text", "textarea", c.Consent.Text)
	for _, lang := range langs {
		n := in("names."+lang.Code, "Name in "+lang.Name, "text", c.Names[lang.Code])
		n.Lang = lang.Code
		f.NameTranslations = append(f.NameTranslations, n)
		t := in("consent.texts."+lang.Code, "Consent text in "+lang.Name, "textarea", c.Consent.Texts[lang.Code])
		t.Lang = lang.Code
		f.ConsentTranslations = append(f.ConsentTranslations, t)
	}
	for i, q := range c.Questions {
		p := "questions." + strconv.Itoa(i)
		qn := func(field, label, typ, value string) inputView {
			v := inputView{ID: "q-" + strconv.Itoa(i) + "-" + strings.ReplaceAll(field, ".", "-"), Name: "q." + strconv.Itoa(i) + "." + field, Label: label, Type: typ, Value: value}
			v.Err = errs[p+"."+map[string]string{"key": "id"}[field]]
			if field != "key" {
				v.Err = errs[p+"."+field]
			}
			return v
		}
		qv := questionView{Index: i, Number: i + 1, Required: q.Required, RequiredName: "q." + strconv.Itoa(i) + ".required"}
		qv.Label = qn("label", "Question", "text", q.Label)
		qv.Key = qn("key", "Key", "text", q.ID)
		qv.Key.Hint = "answers are kept by it"
		qv.Type = qn("type", "Type", "select", q.Type)
		qv.TypeOptions = options(q.Type, questionTypes...)
		qv.Choices = qn("choices", "Choices", "textarea", choicesText(q.Choices, langs))
		qv.Choices.Hint = "for choose one or any: one per line, a translation after a bar"
		qv.Min = qn("min", "Lowest number", "number", floatText(q.Min))
		qv.Max = qn("max", "Highest number", "number", floatText(q.Max))
		for _, lang := range langs {
			t := qn("labels."+lang.Code, "Question in "+lang.Name, "text", q.Labels[lang.Code])
			t.Lang = lang.Code
			qv.Translations = append(qv.Translations, t)
		}
		f.Questions = append(f.Questions, qv)
	}
	if msg := errs["questions"]; msg != "" {
		f.QuestionsError = msg
	}
	return f
}

func floatText(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// choicesText writes choices one per line, translations after bars.
func choicesText(cs []leadcap.Choice, langs []web.Language) string {
	var b strings.Builder
	for _, c := range cs {
		parts := []string{c.Value}
		for _, lang := range langs {
			parts = append(parts, c.Labels[lang.Code])
		}
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		b.WriteString(strings.Join(parts, " | "))
		b.WriteString("\n")
	}
	return b.String()
}

// parseChoices reads choices written one per line.
func parseChoices(text string, langs []web.Language) []leadcap.Choice {
	var out []leadcap.Choice
	for _, line := range strings.Split(text, "\n") {
		parts := strings.Split(line, "|")
		v := strings.TrimSpace(parts[0])
		if v == "" {
			continue
		}
		c := leadcap.Choice{Value: v, Label: v}
		for i, lang := range langs {
			if i+1 < len(parts) {
				if t := strings.TrimSpace(parts[i+1]); t != "" {
					if c.Labels == nil {
						c.Labels = map[string]string{}
					}
					c.Labels[lang.Code] = t
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// maxFormQuestions bounds the questions a form may hold while editing.
const maxFormQuestions = 60

// applyConferenceForm copies the form onto c and applies its editing
// operation ("add", "up:2", "down:0", "remove:1"), returning whether that
// was all (the form is shown again, not saved).
func applyConferenceForm(form url.Values, c *leadcap.Conference, langs []web.Language) (editing bool, err error) {
	c.Name, c.Slug, c.Venue = form.Get("name"), strings.TrimSpace(form.Get("slug")), form.Get("venue")
	if c.Slug == "" {
		c.Slug = intake.NormalizeSlug(c.Name)
	}
	c.Country, c.TimeZone = strings.ToUpper(strings.TrimSpace(form.Get("country"))), form.Get("time_zone")
	c.StartDate, c.EndDate = form.Get("start_date"), form.Get("end_date")
	c.Interests = parseChoices(form.Get("interests"), langs)
	c.Consent.Text = form.Get("consent.text")
	c.Names, c.Consent.Texts = nil, nil
	for _, lang := range langs {
		if v := strings.TrimSpace(form.Get("names." + lang.Code)); v != "" {
			if c.Names == nil {
				c.Names = map[string]string{}
			}
			c.Names[lang.Code] = v
		}
		if v := strings.TrimSpace(form.Get("consent.texts." + lang.Code)); v != "" {
			if c.Consent.Texts == nil {
				c.Consent.Texts = map[string]string{}
			}
			c.Consent.Texts[lang.Code] = v
		}
	}
	fields := map[string]string{}
	c.Questions = nil
	for i := 0; i < maxFormQuestions; i++ {
		p := "q." + strconv.Itoa(i) + "."
		if _, ok := form[p+"label"]; !ok {
			break
		}
		q := leadcap.Question{ID: strings.TrimSpace(form.Get(p + "key")), Type: form.Get(p + "type"), Label: form.Get(p + "label"),
			Required: form.Get(p+"required") != ""}
		if q.ID == "" {
			q.ID = questionKey(q.Label, i)
		}
		if q.Type == leadcap.QuestionSingle || q.Type == leadcap.QuestionMulti {
			q.Choices = parseChoices(form.Get(p+"choices"), langs)
		}
		if q.Type == leadcap.QuestionNumber {
			for _, b := range []struct {
				name string
				dst  **float64
			}{{"min", &q.Min}, {"max", &q.Max}} {
				if v := strings.TrimSpace(form.Get(p + b.name)); v != "" {
					f, err := strconv.ParseFloat(v, 64)
					if err != nil {
						fields["questions."+strconv.Itoa(i)+"."+b.name] = "must be a number"
						continue
					}
					*b.dst = &f
				}
			}
		}
		for _, lang := range langs {
			if v := strings.TrimSpace(form.Get(p + "labels." + lang.Code)); v != "" {
				if q.Labels == nil {
					q.Labels = map[string]string{}
				}
				q.Labels[lang.Code] = v
			}
		}
		c.Questions = append(c.Questions, q)
	}
	op, arg, _ := strings.Cut(form.Get("op"), ":")
	n, _ := strconv.Atoi(arg)
	qs := c.Questions
	switch {
	case op == "add" && len(qs) < maxFormQuestions:
		c.Questions = append(qs, leadcap.Question{Type: leadcap.QuestionSingle})
		return true, nil
	case op == "up" && n > 0 && n < len(qs):
		qs[n-1], qs[n] = qs[n], qs[n-1]
		return true, nil
	case op == "down" && n >= 0 && n+1 < len(qs):
		qs[n], qs[n+1] = qs[n+1], qs[n]
		return true, nil
	case op == "remove" && n >= 0 && n < len(qs):
		c.Questions = append(qs[:n:n], qs[n+1:]...)
		return true, nil
	case op == "add", op == "up", op == "down", op == "remove":
		return true, nil
	}
	return false, leadcap.FieldErrors(fields)
}

// questionKey makes a question's key from its label: "Group size?" is
// group-size.
func questionKey(label string, i int) string {
	k := intake.NormalizeSlug(label)
	if len(k) > 40 {
		k = strings.TrimRight(k[:40], "-")
	}
	if k == "" {
		k = "q" + strconv.Itoa(i+1)
	}
	return k
}

// handleNewConferencePage is GET /conferences/new.
func (s *Server) handleNewConferencePage(w http.ResponseWriter, r *http.Request) {
	c := &leadcap.Conference{Status: leadcap.StatusDraft,
		Consent: leadcap.ConsentText{Text: "I agree that the exhibitor may contact me about my enquiry."}}
	s.render(w, r, http.StatusOK, "conference-edit", s.formFor(r, c, true, nil))
}

// handleCreateConferenceForm is POST /conferences: the new conference, or
// the form again after an editing button or with its problems.
func (s *Server) handleCreateConferenceForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	c := &leadcap.Conference{Status: leadcap.StatusDraft}
	editing, err := applyConferenceForm(r.PostForm, c, s.translations())
	if editing {
		s.render(w, r, http.StatusOK, "conference-edit", s.formFor(r, c, true, nil))
		return
	}
	if err == nil {
		err = s.createConference(r, c)
	}
	if err != nil {
		f := s.formFor(r, c, true, leadcap.ErrorFields(err))
		f.withError(err)
		s.render(w, r, ErrorStatus(err), "conference-edit", f)
		return
	}
	seeOther(w, r, "/conferences/"+c.ID+"?done=created")
}

// handleEditConferencePage is GET /conferences/{id}/edit.
func (s *Server) handleEditConferencePage(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "conference-edit", s.formFor(r, c, false, nil))
}

// handleEditConferenceForm is POST /conferences/{id}/edit.
func (s *Server) handleEditConferenceForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	edited := *c
	editing, err := applyConferenceForm(r.PostForm, &edited, s.translations())
	if editing {
		s.render(w, r, http.StatusOK, "conference-edit", s.formFor(r, &edited, false, nil))
		return
	}
	if err == nil {
		err = s.updateConference(r, c, func(c *leadcap.Conference) []string {
			changed := conferenceChanges(c, &edited)
			*c = edited
			return changed
		})
	}
	if err != nil {
		f := s.formFor(r, &edited, false, leadcap.ErrorFields(err))
		f.withError(err)
		s.render(w, r, ErrorStatus(err), "conference-edit", f)
		return
	}
	seeOther(w, r, "/conferences/"+c.ID+"?done=saved")
}

// conferenceChanges names the fields that differ between a and b, for the
// audit trail.
func conferenceChanges(a, b *leadcap.Conference) []string {
	var out []string
	same := func(x, y any) bool {
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		return string(jx) == string(jy)
	}
	for _, f := range []struct {
		name string
		x, y any
	}{
		{"name", a.Name, b.Name}, {"slug", a.Slug, b.Slug}, {"venue", a.Venue, b.Venue}, {"country", a.Country, b.Country},
		{"time_zone", a.TimeZone, b.TimeZone}, {"start_date", a.StartDate, b.StartDate}, {"end_date", a.EndDate, b.EndDate},
		{"names", a.Names, b.Names}, {"interests", a.Interests, b.Interests}, {"questions", a.Questions, b.Questions},
		{"consent.text", a.Consent.Text, b.Consent.Text}, {"consent.texts", a.Consent.Texts, b.Consent.Texts},
	} {
		if !same(f.x, f.y) {
			out = append(out, f.name)
		}
	}
	return out
}
