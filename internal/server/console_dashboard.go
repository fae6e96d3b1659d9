package server

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/chart"
)

// Dashboard settings.
const (
	dashboardDays   = 14   // days in the leads-per-day chart
	dashboardSample = 1000 // recent leads whose interests and answers are tallied
	dashboardTop    = 6    // interests and choices shown per list
)

// dashboardPage is the dashboard.
type dashboardPage struct {
	page
	Zone               string
	Today, Week, Spam  int64
	OutboxPending      int64
	OutboxAge          string
	OutboxLate         bool
	Conferences        []confCounts
	Days               chartView
	Hours              *chartView
	HoursZone          string
	Selected           *leadcap.Conference
	Interests          []topItem
	Answers            []topQuestion
	Sampled, SampleCap int
}

type confCounts struct {
	Conf               *leadcap.Conference
	Dates              string
	Today, Week, Total int64
}

// chartView is a chart with its accessible names.
type chartView struct {
	ID, Title, Desc, Class string
	Bars                   chart.Bars
}

type topItem struct {
	Label  string
	N, Pct int // Pct of the most chosen
}

type topQuestion struct {
	Label string
	Items []topItem
}

// handleDashboard is GET /: leads today and this week, per conference and
// per day, and for one conference (?conference=, else the open one with
// the most recent leads) leads per hour today and what visitors chose.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "conference", "done")
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	d, err := s.dashboard(r, q.Get("conference"))
	if err != nil {
		s.writeError(w, r, "console", err)
		return
	}
	s.render(w, r, http.StatusOK, "dashboard", d)
}

func (s *Server) dashboard(r *http.Request, slug string) (*dashboardPage, error) {
	ctx := r.Context()
	d := &dashboardPage{page: s.newPage(r, "Dashboard", "dashboard"), SampleCap: dashboardSample}
	confs, err := s.Store.Conferences(ctx)
	if err != nil {
		return nil, err
	}
	if slug != "" {
		for _, c := range confs {
			if c.Slug == slug {
				d.Selected = c
			}
		}
		if d.Selected == nil {
			return nil, leadcap.Errorf(leadcap.ENOTFOUND, "no conference %q", slug)
		}
	}
	loc := time.UTC
	if d.Selected != nil {
		loc = conferenceLocation(d.Selected)
	}
	d.Zone = loc.String()
	now := s.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	tomorrow, weekAgo := today.AddDate(0, 0, 1), today.AddDate(0, 0, -6)
	scope := ""
	if d.Selected != nil {
		scope = d.Selected.ID
	}
	// Leads per day, oldest first, in one pass; today and the week from it.
	var bounds []time.Time
	for i := dashboardDays - 1; i >= -1; i-- {
		bounds = append(bounds, today.AddDate(0, 0, -i))
	}
	perDay, _, err := s.Store.ReceivedHistogram(ctx, scope, bounds)
	if err != nil {
		return nil, err
	}
	d.Today = perDay[len(perDay)-1]
	d.Week = sum(perDay[len(perDay)-7:])
	if d.Spam, err = s.Store.CountSpam(ctx); err != nil {
		return nil, err
	}
	var oldest time.Time
	if d.OutboxPending, oldest, err = s.Store.OutboxStats(ctx); err != nil {
		return nil, err
	}
	if !oldest.IsZero() {
		age := s.Now().Sub(oldest)
		d.OutboxAge, d.OutboxLate = shortDuration(age), age > s.OutboxMaxLag
	}

	totals, err := s.Store.LeadCounts(ctx)
	if err != nil {
		return nil, err
	}
	var open *leadcap.Conference
	var openLatest int64 = -1
	for _, c := range confs {
		cc := confCounts{Conf: c, Dates: conferenceDates(c), Total: totals[c.ID]}
		counts, _, err := s.Store.ReceivedHistogram(ctx, c.ID, []time.Time{weekAgo, today, tomorrow})
		if err != nil {
			return nil, err
		}
		cc.Week, cc.Today = counts[0]+counts[1], counts[1]
		if c.Status == leadcap.StatusOpen && cc.Week > openLatest {
			open, openLatest = c, cc.Week
		}
		d.Conferences = append(d.Conferences, cc)
	}
	slices.SortStableFunc(d.Conferences, func(a, b confCounts) int {
		return cmp.Or(cmp.Compare(b.Week, a.Week), cmp.Compare(b.Total, a.Total))
	})

	var labels, titles []string
	for _, day := range bounds[:len(bounds)-1] {
		labels = append(labels, day.Format("2 Jan"))
		titles = append(titles, day.Format("Mon 2 Jan"))
	}
	values := perDay
	what := "all conferences"
	if d.Selected != nil {
		what = d.Selected.Name
	}
	d.Days = chartView{ID: "days", Title: "Leads per day, " + what,
		Desc: fmt.Sprintf("%s: %s leads in the last %d days.", what, strconv.FormatInt(sum(values), 10), dashboardDays),
		Bars: chart.Layout(labels, titles, values, 640, 220, 7)}

	if d.Selected == nil {
		d.Selected = open
	}
	if c := d.Selected; c != nil {
		if c.Status == leadcap.StatusOpen {
			cloc := conferenceLocation(c)
			cnow := s.Now().In(cloc)
			start := time.Date(cnow.Year(), cnow.Month(), cnow.Day(), 0, 0, 0, 0, cloc)
			labels, titles, bounds = nil, nil, nil
			for h := 0; h <= 24; h++ {
				bounds = append(bounds, start.Add(time.Duration(h)*time.Hour))
				if h < 24 {
					labels = append(labels, strconv.Itoa(h))
					titles = append(titles, fmt.Sprintf("%02d:00–%02d:59", h, h))
				}
			}
			if values, _, err = s.Store.ReceivedHistogram(ctx, c.ID, bounds); err != nil {
				return nil, err
			}
			d.HoursZone = cloc.String()
			d.Hours = &chartView{ID: "hours", Class: "hours", Title: "Leads per hour today at " + c.Name,
				Desc: fmt.Sprintf("%d leads today at %s (%s).", sum(values), c.Name, cloc),
				Bars: chart.Layout(labels, titles, values, 640, 220, 12)}
		}
		tally, err := s.Store.TallyLeads(ctx, c, dashboardSample)
		if err != nil {
			return nil, err
		}
		d.Sampled = tally.Leads
		d.Interests = top(tally.Interests, func(v string) string { return choiceLabel(c.Interests, v) })
		for _, q := range c.Questions {
			if counts := tally.Answers[q.ID]; len(counts) > 0 {
				d.Answers = append(d.Answers, topQuestion{Label: q.Label,
					Items: top(counts, func(v string) string { return choiceLabel(q.Choices, v) })})
			}
		}
	}
	return d, nil
}

// top returns the most chosen values, most first, with their labels.
func top(counts map[string]int, label func(string) string) []topItem {
	var out []topItem
	most := 0
	for v, n := range counts {
		out = append(out, topItem{Label: label(v), N: n})
		most = max(most, n)
	}
	slices.SortFunc(out, func(a, b topItem) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Label, b.Label)) })
	if len(out) > dashboardTop {
		out = out[:dashboardTop]
	}
	for i := range out {
		out[i].Pct = out[i].N * 100 / max(most, 1)
	}
	return out
}

// choiceLabel is the label of a choice's value, or the value itself.
func choiceLabel(choices []leadcap.Choice, v string) string {
	for _, c := range choices {
		if c.Value == v && c.Label != "" {
			return c.Label
		}
	}
	return v
}

func sum(vs []int64) int64 {
	var t int64
	for _, v := range vs {
		t += v
	}
	return t
}

// shortDuration shows an age in its largest unit: 45s, 12m, 3h, 2d.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d"
}

// conferenceDates shows a conference's dates: "3–5 Mar 2027".
func conferenceDates(c *leadcap.Conference) string {
	start, err1 := time.Parse(time.DateOnly, c.StartDate)
	end, err2 := time.Parse(time.DateOnly, c.EndDate)
	switch {
	case err1 != nil && err2 != nil:
		return ""
	case err2 != nil || start.Equal(end):
		return start.Format("2 Jan 2006")
	case err1 != nil:
		return "until " + end.Format("2 Jan 2006")
	case start.Year() == end.Year() && start.Month() == end.Month():
		return start.Format("2") + "–" + end.Format("2 Jan 2006")
	case start.Year() == end.Year():
		return start.Format("2 Jan") + " – " + end.Format("2 Jan 2006")
	}
	return start.Format("2 Jan 2006") + " – " + end.Format("2 Jan 2006")
}
