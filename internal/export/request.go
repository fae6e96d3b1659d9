package export

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

// Request asks for an export, as POST /api/v1/exports and leadcap export
// take it.
type Request struct {
	Format      string `json:"format"`
	Conference  string `json:"conference,omitempty"` // slug or id; empty for every conference
	Since       string `json:"since,omitempty"`      // YYYY-MM-DD or an RFC 3339 time
	Until       string `json:"until,omitempty"`      // likewise; a date includes that day
	IncludeSpam bool   `json:"include_spam,omitempty"`
	Columns     string `json:"columns,omitempty"` // preset; default leadcap
	BOM         bool   `json:"bom,omitempty"`     // CSV only: start with a UTF-8 byte order mark
}

// Plan is a checked Request: what to export and how.
type Plan struct {
	Format  string
	Columns string
	BOM     bool
	Filter  leadcap.ExportFilter
	// confs are the conferences whose leads are exported, oldest first:
	// their questions make the columns.
	confs []*leadcap.Conference
}

// Conferences returns the conferences of the plan, oldest first.
func (p *Plan) Conferences() []*leadcap.Conference { return p.confs }

// NewPlan checks req and resolves its conference and dates. A date
// without a time is a day in the conference's time zone (UTC when it has
// none or the export covers every conference); until includes that day.
// Leads created after now are never exported, so Until is at most now:
// a lead captured while an export runs waits for the next one. Errors are
// EINVALID and name each bad field.
func NewPlan(ctx context.Context, st *store.Store, req Request, now time.Time) (*Plan, error) {
	bad := map[string]string{}
	p := &Plan{Format: req.Format, Columns: req.Columns, BOM: req.BOM}
	p.Filter.IncludeSpam = req.IncludeSpam
	switch {
	case p.Format == "":
		bad["format"] = "is required: one of " + strings.Join(Formats(), ", ")
	case !slices.Contains(Formats(), p.Format):
		bad["format"] = "must be one of " + strings.Join(Formats(), ", ")
	case p.BOM && p.Format != leadcap.FormatCSV:
		bad["bom"] = "only a CSV file can start with a byte order mark"
	}
	if p.Columns == "" {
		p.Columns = leadcap.ColumnsLeadcap
	} else if !slices.Contains(Presets(), p.Columns) {
		bad["columns"] = "must be one of " + strings.Join(Presets(), ", ")
	}
	loc := time.UTC
	if req.Conference != "" {
		c, err := st.Conference(ctx, req.Conference)
		if leadcap.ErrorCode(err) == leadcap.ENOTFOUND {
			bad["conference"] = "no conference has this slug or id"
		} else if err != nil {
			return nil, err
		} else {
			p.confs = []*leadcap.Conference{c}
			p.Filter.ConferenceID = c.ID
			if tz, err := time.LoadLocation(c.TimeZone); err == nil && c.TimeZone != "" {
				loc = tz
			}
		}
	} else {
		all, err := st.Conferences(ctx)
		if err != nil {
			return nil, err
		}
		sortConferences(all)
		p.confs = all
	}
	var ok bool
	if p.Filter.Since, ok = parseWhen(req.Since, loc, false); !ok {
		bad["since"] = "want a date like 2027-03-01 or a time like 2027-03-01T09:00:00Z"
	}
	if p.Filter.Until, ok = parseWhen(req.Until, loc, true); !ok {
		bad["until"] = "want a date like 2027-03-03 or a time like 2027-03-03T18:00:00Z"
	}
	if bad["since"] == "" && bad["until"] == "" && !p.Filter.Since.IsZero() && !p.Filter.Until.IsZero() &&
		!p.Filter.Until.After(p.Filter.Since) {
		bad["until"] = "must be after since"
	}
	if err := leadcap.FieldErrors(bad); err != nil {
		return nil, err
	}
	if now = now.UTC(); p.Filter.Until.IsZero() || p.Filter.Until.After(now) {
		p.Filter.Until = now
	}
	return p, nil
}

// parseWhen reads an RFC 3339 time or a date in loc; a date as an end
// (until) is the start of the next day. Empty is the zero time.
func parseWhen(s string, loc *time.Location, end bool) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d.UTC(), true
}

// leadFilter is the store filter of an export filter.
func leadFilter(f leadcap.ExportFilter) store.LeadFilter {
	return store.LeadFilter{ConferenceID: f.ConferenceID, Since: f.Since, Until: f.Until, IncludeSpam: f.IncludeSpam}
}
