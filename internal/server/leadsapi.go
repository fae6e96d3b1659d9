package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

// leadQueryParams are the query parameters of a lead listing.
var leadQueryParams = []string{"conference", "since", "until", "rating", "source", "spam", "tag", "q", "sort", "limit", "cursor"}

// leadQuery reads a lead listing's parameters. Dates without a time are
// days in loc: since from the start of its day, until to the end of its
// day.
func (s *Server) leadQuery(r *http.Request, q url.Values, loc *time.Location) (store.LeadQuery, *leadcap.Conference, error) {
	fields := map[string]string{}
	lq := store.LeadQuery{Rating: q.Get("rating"), Source: q.Get("source"), Spam: q.Get("spam"), Tag: q.Get("tag"),
		Search: q.Get("q"), Sort: q.Get("sort"), Cursor: q.Get("cursor")}
	var conf *leadcap.Conference
	if v := q.Get("conference"); v != "" {
		c, err := s.Store.Conference(r.Context(), v)
		if leadcap.ErrorCode(err) == leadcap.ENOTFOUND {
			fields["conference"] = "is not a conference"
		} else if err != nil {
			return lq, nil, err
		} else {
			conf, lq.ConferenceID = c, c.ID
			if loc == nil {
				loc = conferenceLocation(c)
			}
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	lq.Since = dayOrTime(q, "since", loc, false, fields)
	lq.Until = dayOrTime(q, "until", loc, true, fields)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLeadPage {
			fields["limit"] = "must be a whole number from 1 to " + strconv.Itoa(store.MaxLeadPage)
		}
		lq.Limit = n
	}
	for _, name := range []string{"source", "tag", "cursor", "rating", "spam", "sort"} {
		if len(q.Get(name)) > 100 {
			fields[name] = "is too long"
		}
	}
	return lq, conf, badQuery(fields)
}

// conferenceLocation is the time zone of c, or UTC.
func conferenceLocation(c *leadcap.Conference) *time.Location {
	if c != nil && c.TimeZone != "" {
		if loc, err := time.LoadLocation(c.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// dayOrTime reads a parameter that is an RFC 3339 time or a day
// (YYYY-MM-DD) in loc; endOfDay makes a day mean its end.
func dayOrTime(q url.Values, name string, loc *time.Location, endOfDay bool, fields map[string]string) time.Time {
	v := q.Get(name)
	if v == "" {
		return time.Time{}
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		fields[name] = "must be a day like 2027-03-01 or a time like 2027-03-01T09:00:00Z"
	}
	return t
}

// handleLeads is GET /api/v1/leads: a page of leads, newest first, with
// filters, search and a cursor.
func (s *Server) handleLeads(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, leadQueryParams...)
	if err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	lq, _, err := s.leadQuery(r, q, nil)
	if err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	page, err := s.Store.ListLeads(r.Context(), lq)
	if err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	leads := page.Leads
	if leads == nil {
		leads = []*leadcap.Lead{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"leads": leads, "next": page.Next})
}

// leadView is a lead as GET /api/v1/leads/{id} shows it: with its
// history, notes, and the exact consent text the visitor agreed to.
type leadView struct {
	*leadcap.Lead
	ConsentText *leadcap.ConsentText `json:"consent_text,omitempty"`
}

func (s *Server) leadView(r *http.Request, id string) (*leadView, error) {
	l, err := s.Store.LeadDetail(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &leadView{Lead: l}
	if l.Consent.Version > 0 {
		t, err := s.Store.ConsentText(r.Context(), l.ConferenceID, l.Consent.Version)
		if err != nil && leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			return nil, err
		}
		v.ConsentText = t
	}
	return v, nil
}

// handleLead is GET /api/v1/leads/{id}.
func (s *Server) handleLead(w http.ResponseWriter, r *http.Request) {
	v, err := s.leadView(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// leadChangeInput is what staff change on a lead: a rating ("" clears
// it), the tags (replacing them), and a note to add.
type leadChangeInput struct {
	Rating *string   `json:"rating"`
	Tags   *[]string `json:"tags"`
	Note   *string   `json:"note"`
}

// handleUpdateLead is PATCH /api/v1/leads/{id}: rating, tags, a new note.
func (s *Server) handleUpdateLead(w http.ResponseWriter, r *http.Request) {
	var in leadChangeInput
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	if err := s.updateLead(r, r.PathValue("id"), in); err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	s.handleLead(w, r)
}

// updateLead checks and applies a staff member's change to a lead.
func (s *Server) updateLead(r *http.Request, id string, in leadChangeInput) error {
	var c store.LeadChange
	if in.Rating != nil {
		if !leadcap.ValidRating(*in.Rating) {
			return leadcap.FieldErrors(map[string]string{"rating": "must be hot, warm, cold or empty"})
		}
		c.Rating = in.Rating
	}
	if in.Tags != nil {
		tags, err := intake.NormalizeTags(*in.Tags)
		if err != nil {
			return err
		}
		c.Tags = &tags
	}
	if in.Note != nil {
		text, err := intake.CheckNote(*in.Note)
		if err != nil {
			return err
		}
		p := access.FromContext(r.Context())
		c.Note = &leadcap.LeadNote{AuthorID: p.User.ID, Author: p.User.Email, Text: text}
	}
	if c.Rating == nil && c.Tags == nil && c.Note == nil {
		return leadcap.Errorf(leadcap.EBADREQUEST, "nothing to change: send rating, tags or note")
	}
	return s.Store.UpdateLead(r.Context(), id, c)
}

// maxCorrectionBody bounds a rectification: every field and answer fits.
const maxCorrectionBody = 64 << 10

// handleRectifyLead is PATCH /api/v1/leads/{id}/fields: an admin corrects
// a lead's personal fields (rectification). The audit trail records which
// fields changed, never their values.
func (s *Server) handleRectifyLead(w http.ResponseWriter, r *http.Request) {
	var in intake.Correction
	if err := decodeJSONLimit(r, &in, maxCorrectionBody); err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	if err := s.rectifyLead(r, r.PathValue("id"), in); err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	s.handleLead(w, r)
}

func (s *Server) rectifyLead(r *http.Request, id string, in intake.Correction) error {
	l, err := s.Store.LeadDetail(r.Context(), id)
	if err != nil {
		return err
	}
	c, err := s.Store.Conference(r.Context(), l.ConferenceID)
	if err != nil {
		return err
	}
	changed, err := intake.Correct(l, c, in)
	if err != nil || len(changed) == 0 {
		return err
	}
	if err := s.Store.RectifyLead(r.Context(), l, intake.EmailKey(l.Email)); err != nil {
		return err
	}
	return s.audit(r, leadcap.AuditLeadRectify, "lead:"+l.ID,
		map[string]string{"conference_id": l.ConferenceID, "fields": strings.Join(changed, ",")})
}

// handleDeleteLead is DELETE /api/v1/leads/{id}: the lead, its history,
// notes and tags, and every version of its raw copy go.
func (s *Server) handleDeleteLead(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteLead(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteLead erases the lead, records the erasure in the object store and
// in the audit trail. A record that cannot be stored leaves the lead
// erased; the error names it (logged and counted as every 500).
func (s *Server) deleteLead(r *http.Request, id string) error {
	e, err := s.Store.EraseLead(r.Context(), id, s.Blob)
	if e.Lead == nil {
		return err
	}
	if s.Erasures != nil {
		rerr := s.Erasures.Record(r.Context(), erasure.Record{LeadID: e.Lead.ID, ConferenceID: e.Lead.ConferenceID, ErasedAt: s.Now()})
		if rerr != nil {
			err = errors.Join(err, fmt.Errorf("%w: %w", leadcap.Errorf(leadcap.EINTERNAL,
				"lead %s is deleted, but the record of its deletion was not stored, so a restore of an older backup would bring it back: delete it again after one",
				e.Lead.ID), rerr))
		}
	}
	if aerr := s.audit(r, leadcap.AuditLeadDelete, "lead:"+e.Lead.ID, map[string]string{"conference_id": e.Lead.ConferenceID}); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}
