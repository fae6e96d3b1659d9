package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

// leadsPage is the leads table.
type leadsPage struct {
	page
	Q                                                      store.LeadQuery
	Conf                                                   *leadcap.Conference
	ConfSlug, Since, Until                                 string
	Conferences                                            []*leadcap.Conference
	RatingOptions, SourceOptions, SpamOptions, SortOptions []option
	Leads                                                  []leadRow
	Filtered, Partial, MoreFilters                         bool
	NextURL, FirstURL                                      string
}

type leadRow struct {
	ID, Name, Company, JobTitle, Email, Conference, Rating, Received, Source string
	Tags                                                                     []string
	Spam                                                                     bool
}

// leadName is how a lead is named in the console.
func leadName(l *leadcap.Lead) string {
	if n := strings.TrimSpace(l.FirstName + " " + l.LastName); n != "" {
		return n
	}
	return l.Email
}

// handleLeadsPage is GET /leads: the table, with the API's filters.
func (s *Server) handleLeadsPage(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, append([]string{"done"}, leadQueryParams...)...)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	lq, conf, err := s.leadQuery(r, q, nil)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	res, err := s.Store.ListLeads(r.Context(), lq)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	confs, err := s.Store.Conferences(r.Context())
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	names := map[string]string{}
	for _, c := range confs {
		names[c.ID] = c.Name
	}
	lp := leadsPage{page: s.newPage(r, "Leads", "leads"), Q: lq, Conf: conf, Conferences: confs,
		Since: q.Get("since"), Until: q.Get("until"), Partial: res.Next != "" && len(res.Leads) < max(lq.Limit, 1)}
	if conf != nil {
		lp.ConfSlug = conf.Slug
	}
	lp.RatingOptions = options(lq.Rating, "", "Any", leadcap.RatingHot, "Hot", leadcap.RatingWarm, "Warm",
		leadcap.RatingCold, "Cold", store.RatingNone, "Not rated")
	lp.SourceOptions = options(lq.Source, "", "Any", leadcap.SourceForm, "Form", leadcap.SourceKiosk, "Kiosk",
		leadcap.SourceStaff, "Staff", leadcap.SourceAPI, "API", leadcap.SourceImport, "Import")
	lp.SpamOptions = options(q.Get("spam"), "", "Hide spam", store.SpamOnly, "Spam only", store.SpamInclude, "Include spam")
	lp.SortOptions = options(q.Get("sort"), "", "Newest first", store.SortOldest, "Oldest first", store.SortRating, "Hottest first")
	for _, k := range []string{"conference", "since", "until", "rating", "source", "spam", "tag", "q", "sort"} {
		lp.Filtered = lp.Filtered || q.Get(k) != ""
		lp.MoreFilters = lp.MoreFilters || k != "q" && q.Get(k) != ""
	}
	for _, l := range res.Leads {
		lp.Leads = append(lp.Leads, leadRow{ID: l.ID, Name: leadName(l), Company: l.Company, JobTitle: l.JobTitle,
			Email: l.Email, Conference: names[l.ConferenceID], Rating: l.Rating, Tags: l.Tags, Spam: l.Spam,
			Received: l.CreatedAt.UTC().Format("2 Jan 15:04"), Source: l.Source})
	}
	if res.Next != "" {
		next := cloneValues(q)
		next.Set("cursor", res.Next)
		lp.NextURL = "/leads?" + next.Encode()
	}
	first := cloneValues(q)
	first.Del("cursor")
	lp.FirstURL = "/leads?" + first.Encode()
	s.render(w, r, http.StatusOK, "leads", lp)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if len(vs) > 0 && vs[0] != "" {
			out.Set(k, vs[0])
		}
	}
	return out
}

// leadPage is one lead.
type leadPage struct {
	page
	Lead           *leadcap.Lead
	Name           string
	Conf           *leadcap.Conference
	Interests      []string
	Answers        []answerView
	ConsentText    *leadcap.ConsentText
	ConsentMatches bool
	Notes          []noteView
	RatingOptions  []option
	TagsText       string
	NoteText       string
}

type answerView struct{ Question, Answer string }

type noteView struct {
	Author, Text string
	When         time.Time
}

func (s *Server) leadPage(r *http.Request, id string) (*leadPage, error) {
	v, err := s.leadView(r, id)
	if err != nil {
		return nil, err
	}
	l := v.Lead
	c, err := s.Store.Conference(r.Context(), l.ConferenceID)
	if err != nil {
		return nil, err
	}
	lp := &leadPage{page: s.newPage(r, leadName(l), "leads"), Lead: l, Name: leadName(l), Conf: c, ConsentText: v.ConsentText,
		TagsText: strings.Join(l.Tags, ", ")}
	lp.ConsentMatches = v.ConsentText != nil && v.ConsentText.Hash == l.Consent.TextHash
	for _, in := range l.Interests {
		lp.Interests = append(lp.Interests, choiceLabel(c.Interests, in))
	}
	seen := map[string]bool{}
	for _, q := range c.Questions {
		if a, ok := l.Answers[q.ID]; ok {
			lp.Answers = append(lp.Answers, answerView{q.Label, answerText(a, q.Choices)})
			seen[q.ID] = true
		}
	}
	var rest []string
	for id := range l.Answers {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	for _, id := range rest { // answers to questions since removed
		lp.Answers = append(lp.Answers, answerView{id + " (removed question)", answerText(l.Answers[id], nil)})
	}
	for _, n := range l.StaffNotes {
		lp.Notes = append(lp.Notes, noteView{Author: n.Author, Text: n.Text, When: n.CreatedAt})
	}
	lp.RatingOptions = options(l.Rating, leadcap.RatingHot, "Hot", leadcap.RatingWarm, "Warm", leadcap.RatingCold, "Cold", "", "Not rated")
	return lp, nil
}

// answerText shows an answer: a choice by its label, a list joined.
func answerText(a any, choices []leadcap.Choice) string {
	switch v := a.(type) {
	case string:
		return choiceLabel(choices, v)
	case []string:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = choiceLabel(choices, x)
		}
		return strings.Join(out, ", ")
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// handleLeadPage is GET /leads/{id}.
func (s *Server) handleLeadPage(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r, "done"); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	lp, err := s.leadPage(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "lead", lp)
}

// handleLeadForm is POST /leads/{id}: rating, tags and a new note.
func (s *Server) handleLeadForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	id := r.PathValue("id")
	in := leadChangeInput{}
	if _, ok := r.PostForm["rating"]; ok {
		rating := r.PostForm.Get("rating")
		in.Rating = &rating
	}
	if _, ok := r.PostForm["tags"]; ok {
		var tags []string
		for _, t := range strings.Split(r.PostForm.Get("tags"), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
		in.Tags = &tags
	}
	if note := r.PostForm.Get("note"); strings.TrimSpace(note) != "" {
		in.Note = &note
	}
	err := s.updateLead(r, id, in)
	if err == nil {
		seeOther(w, r, "/leads/"+id+"?done=saved")
		return
	}
	lp, perr := s.leadPage(r, id)
	if perr != nil {
		s.writeError(w, r, "console", perr)
		return
	}
	lp.withError(err)
	lp.TagsText, lp.NoteText = r.PostForm.Get("tags"), r.PostForm.Get("note")
	s.render(w, r, ErrorStatus(err), "lead", lp)
}

// leadEditPage is the rectification form.
type leadEditPage struct {
	page
	ID, Name        string
	Fields, Answers []inputView
}

func (s *Server) leadEditPage(r *http.Request, l *leadcap.Lead, c *leadcap.Conference, values url.Values, errs map[string]string) *leadEditPage {
	p := &leadEditPage{page: s.newPage(r, "Correct "+leadName(l), "leads"), ID: l.ID, Name: leadName(l)}
	val := func(name, stored string) string {
		if values != nil {
			return values.Get(name)
		}
		return stored
	}
	for _, f := range []struct{ name, label, typ, value string }{
		{"first_name", "First name", "text", l.FirstName}, {"last_name", "Last name", "text", l.LastName},
		{"email", "Email", "email", l.Email}, {"phone", "Phone", "text", l.Phone},
		{"company", "Company", "text", l.Company}, {"job_title", "Job title", "text", l.JobTitle},
		{"country", "Country", "text", l.Country}, {"interests", "Interests (comma-separated)", "text", strings.Join(l.Interests, ", ")},
		{"notes", "Their notes", "textarea", l.Notes},
	} {
		p.Fields = append(p.Fields, inputView{ID: "f-" + f.name, Name: f.name, Label: f.label, Type: f.typ, Value: val(f.name, f.value), Err: errs[f.name]})
	}
	for _, q := range c.Questions {
		name := "answers." + q.ID
		stored := ""
		if a, ok := l.Answers[q.ID]; ok {
			if list, ok := a.([]string); ok {
				stored = strings.Join(list, ", ")
			} else {
				stored = answerText(a, nil)
			}
		}
		hint := ""
		switch q.Type {
		case leadcap.QuestionSingle, leadcap.QuestionMulti:
			var vs []string
			for _, c := range q.Choices {
				vs = append(vs, c.Value)
			}
			hint = "one of: " + strings.Join(vs, ", ")
			if q.Type == leadcap.QuestionMulti {
				hint = "comma-separated, of: " + strings.Join(vs, ", ")
			}
		case leadcap.QuestionDate:
			hint = "YYYY-MM-DD"
		}
		p.Answers = append(p.Answers, inputView{ID: "f-answers-" + q.ID, Name: name, Label: q.Label, Hint: hint, Type: "text",
			Value: val(name, stored), Err: errs[name]})
	}
	return p
}

// handleLeadEditPage is GET /leads/{id}/edit.
func (s *Server) handleLeadEditPage(w http.ResponseWriter, r *http.Request) {
	l, err := s.Store.LeadDetail(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	c, err := s.Store.Conference(r.Context(), l.ConferenceID)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "lead-edit", s.leadEditPage(r, l, c, nil, nil))
}

// handleRectifyForm is POST /leads/{id}/fields: every field of the form
// is the corrected value; only those that differ change.
func (s *Server) handleRectifyForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	id := r.PathValue("id")
	l, err := s.Store.LeadDetail(r.Context(), id)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	c, err := s.Store.Conference(r.Context(), l.ConferenceID)
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	f := r.PostForm
	str := func(name string) *string {
		if _, ok := f[name]; !ok {
			return nil
		}
		v := f.Get(name)
		return &v
	}
	k := intake.Correction{FirstName: str("first_name"), LastName: str("last_name"), Email: str("email"), Phone: str("phone"),
		Company: str("company"), JobTitle: str("job_title"), Country: str("country"), Notes: str("notes")}
	if v := str("interests"); v != nil {
		list := splitList(*v)
		k.Interests = &list
	}
	for _, q := range c.Questions {
		v := str("answers." + q.ID)
		if v == nil {
			continue
		}
		raw, changed := answerInput(q, *v, l.Answers[q.ID])
		if changed {
			if k.Answers == nil {
				k.Answers = map[string]json.RawMessage{}
			}
			k.Answers[q.ID] = raw
		}
	}
	if err := s.rectifyLead(r, id, k); err != nil {
		p := s.leadEditPage(r, l, c, f, leadcap.ErrorFields(err))
		p.withError(err)
		s.render(w, r, ErrorStatus(err), "lead-edit", p)
		return
	}
	seeOther(w, r, "/leads/"+id+"?done=rectified")
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// answerInput turns a typed answer into the JSON a submission would
// carry, and says whether it differs from the stored one.
func answerInput(q leadcap.Question, typed string, stored any) (json.RawMessage, bool) {
	typed = strings.TrimSpace(typed)
	var v any
	switch {
	case typed == "":
		v = nil
	case q.Type == leadcap.QuestionMulti:
		v = splitList(typed)
	case q.Type == leadcap.QuestionNumber:
		if f, err := strconv.ParseFloat(typed, 64); err == nil {
			v = f
		} else {
			v = typed // intake names the problem
		}
	default:
		v = typed
	}
	raw, _ := json.Marshal(v)
	old, _ := json.Marshal(stored)
	if stored == nil {
		old = []byte("null")
	}
	return raw, string(raw) != string(old)
}

// handleDeleteLeadForm is POST /leads/{id}/delete.
func (s *Server) handleDeleteLeadForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		s.writeError(w, r, "console", leadcap.Errorf(leadcap.EINVALID, "tick the box to confirm the deletion"))
		return
	}
	if err := s.deleteLead(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	seeOther(w, r, "/leads?done=deleted")
}
