package server

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/intake"
)

// maxConferenceBody bounds a conference definition: 50 questions of 100
// choices with translations fit.
const maxConferenceBody = 512 << 10

// conferenceInput is a conference as a client writes it. On create every
// field given is taken; on PATCH only the fields given change.
type conferenceInput struct {
	Slug      *string             `json:"slug"`
	Name      *string             `json:"name"`
	Venue     *string             `json:"venue"`
	Country   *string             `json:"country"`
	TimeZone  *string             `json:"time_zone"`
	StartDate *string             `json:"start_date"`
	EndDate   *string             `json:"end_date"`
	Status    *string             `json:"status"`
	Interests *[]leadcap.Choice   `json:"interests"`
	Questions *[]leadcap.Question `json:"questions"`
	Consent   *consentInput       `json:"consent"`
	Names     *map[string]string  `json:"names"`
}

// consentInput is the consent text as a client writes it; a change of
// either makes a new version.
type consentInput struct {
	Text  *string            `json:"text"`
	Texts *map[string]string `json:"texts"`
}

// apply copies the fields given onto c and returns their names.
func (in *conferenceInput) apply(c *leadcap.Conference) []string {
	var changed []string
	str := func(name string, src *string, dst *string) {
		if src != nil {
			*dst = *src
			changed = append(changed, name)
		}
	}
	str("slug", in.Slug, &c.Slug)
	str("name", in.Name, &c.Name)
	str("venue", in.Venue, &c.Venue)
	str("country", in.Country, &c.Country)
	str("time_zone", in.TimeZone, &c.TimeZone)
	str("start_date", in.StartDate, &c.StartDate)
	str("end_date", in.EndDate, &c.EndDate)
	str("status", in.Status, &c.Status)
	if in.Interests != nil {
		c.Interests, changed = *in.Interests, append(changed, "interests")
	}
	if in.Questions != nil {
		c.Questions, changed = *in.Questions, append(changed, "questions")
	}
	if in.Names != nil {
		c.Names, changed = *in.Names, append(changed, "names")
	}
	if in.Consent != nil {
		str("consent.text", in.Consent.Text, &c.Consent.Text)
		if in.Consent.Texts != nil {
			c.Consent.Texts, changed = *in.Consent.Texts, append(changed, "consent.texts")
		}
	}
	return changed
}

// conferenceView is a conference as the API shows it.
type conferenceView struct {
	*leadcap.Conference
	Leads   int64  `json:"leads"` // not counting quarantined spam
	FormURL string `json:"form_url"`
}

func (s *Server) conferenceView(r *http.Request, c *leadcap.Conference, leads int64) conferenceView {
	return conferenceView{c, leads, s.formURL(r, c)}
}

// handleConferences is GET /api/v1/conferences: every conference, newest
// first, with its lead count.
func (s *Server) handleConferences(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.Conferences(r.Context())
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	counts, err := s.Store.LeadCounts(r.Context())
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	out := make([]conferenceView, 0, len(list))
	for _, c := range list {
		out = append(out, s.conferenceView(r, c, counts[c.ID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"conferences": out})
}

// handleConference is GET /api/v1/conferences/{id} (id or slug).
func (s *Server) handleConference(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	s.writeConference(w, r, c)
}

// writeConference answers with c and its lead count.
func (s *Server) writeConference(w http.ResponseWriter, r *http.Request, c *leadcap.Conference) {
	n, err := s.Store.CountLeads(r.Context(), c.ID)
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	writeJSON(w, http.StatusOK, s.conferenceView(r, c, n))
}

// handleCreateConference is POST /api/v1/conferences. A new conference is
// a draft unless the body says otherwise.
func (s *Server) handleCreateConference(w http.ResponseWriter, r *http.Request) {
	var in conferenceInput
	if err := decodeJSONLimit(r, &in, maxConferenceBody); err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	c := &leadcap.Conference{Status: leadcap.StatusDraft}
	in.apply(c)
	if c.Slug == "" && c.Name != "" {
		c.Slug = intake.NormalizeSlug(c.Name)
	}
	if err := s.createConference(r, c); err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	writeJSON(w, http.StatusCreated, s.conferenceView(r, c, 0))
}

// createConference validates and stores a new conference, audits it and
// draws its QR code.
func (s *Server) createConference(r *http.Request, c *leadcap.Conference) error {
	if err := intake.ValidateConference(c); err != nil {
		return err
	}
	if err := s.Store.CreateConference(r.Context(), c); err != nil {
		return err
	}
	if err := s.auditConference(r, leadcap.AuditConferenceCreate, c, map[string]string{"slug": c.Slug, "status": c.Status}); err != nil {
		return err
	}
	s.refreshQR(r, c)
	return nil
}

// handleUpdateConference is PATCH /api/v1/conferences/{id}: the fields
// given change; a changed consent text becomes a new version.
func (s *Server) handleUpdateConference(w http.ResponseWriter, r *http.Request) {
	var in conferenceInput
	if err := decodeJSONLimit(r, &in, maxConferenceBody); err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	if err := s.updateConference(r, c, in.apply); err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	s.writeConference(w, r, c)
}

// updateConference changes c with change (which returns the names of
// the fields it set), validates and stores it, audits what changed, and
// redraws the QR code when the slug changed.
func (s *Server) updateConference(r *http.Request, c *leadcap.Conference, change func(*leadcap.Conference) []string) error {
	oldSlug, oldStatus, oldConsent := c.Slug, c.Status, c.Consent.Version
	changed := change(c)
	if err := intake.ValidateConference(c); err != nil {
		return err
	}
	if err := s.Store.UpdateConference(r.Context(), c); err != nil {
		return err
	}
	action := leadcap.AuditConferenceUpdate
	switch {
	case c.Status != oldStatus && c.Status == leadcap.StatusOpen:
		action = leadcap.AuditConferenceOpen
	case c.Status != oldStatus && c.Status == leadcap.StatusClosed:
		action = leadcap.AuditConferenceClose
	}
	detail := map[string]string{"slug": c.Slug, "fields": strings.Join(changed, ",")}
	if c.Status != oldStatus {
		detail["status"] = oldStatus + " -> " + c.Status
	}
	if c.Consent.Version != oldConsent {
		detail["consent_version"] = strconv.Itoa(c.Consent.Version)
	}
	if err := s.auditConference(r, action, c, detail); err != nil {
		return err
	}
	if c.Slug != oldSlug {
		s.refreshQR(r, c)
	}
	return nil
}

// handleOpenConference is POST /api/v1/conferences/{id}/open, and
// handleCloseConference .../close.
func (s *Server) handleOpenConference(w http.ResponseWriter, r *http.Request) {
	s.setConferenceStatus(w, r, leadcap.StatusOpen)
}

func (s *Server) handleCloseConference(w http.ResponseWriter, r *http.Request) {
	s.setConferenceStatus(w, r, leadcap.StatusClosed)
}

func (s *Server) setConferenceStatus(w http.ResponseWriter, r *http.Request, status string) {
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	err = s.updateConference(r, c, func(c *leadcap.Conference) []string {
		c.Status = status
		return []string{"status"}
	})
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	s.writeConference(w, r, c)
}

// handleDeleteConference is DELETE /api/v1/conferences/{id}. A conference
// with leads is refused unless ?force=true, which only a caller who may
// delete leads can send; its leads' raw copies and its QR codes are
// removed from the object store as well.
func (s *Server) handleDeleteConference(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "force")
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	force := false
	switch q.Get("force") {
	case "", "false":
	case "true":
		force = true
	default:
		s.writeError(w, r, "conferences", badQuery(map[string]string{"force": "must be true or false"}))
		return
	}
	if err := s.deleteConference(r, r.PathValue("id"), force); err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteConference(r *http.Request, idOrSlug string, force bool) error {
	p := access.FromContext(r.Context())
	if force && !p.Can(access.LeadsDelete) {
		return leadcap.Errorf(leadcap.EFORBIDDEN, "only an admin may delete a conference with its leads (needs %s)", access.LeadsDelete)
	}
	c, err := s.Store.Conference(r.Context(), idOrSlug)
	if err != nil {
		return err
	}
	n, err := s.Store.DeleteConference(r.Context(), c.ID, force)
	if err != nil {
		return err
	}
	if err := s.auditConference(r, leadcap.AuditConferenceDelete, c, map[string]string{"slug": c.Slug,
		"leads": strconv.FormatInt(n, 10), "force": strconv.FormatBool(force)}); err != nil {
		return err
	}
	return s.purgeConferenceObjects(r.Context(), c.ID, n > 0)
}

// auditConference appends a record of a change to conference c by the
// caller of r.
func (s *Server) auditConference(r *http.Request, action string, c *leadcap.Conference, detail map[string]string) error {
	return s.audit(r, action, "conference:"+c.ID, detail)
}

// audit appends a successful action of the caller of r to the trail.
func (s *Server) audit(r *http.Request, action, target string, detail map[string]string) error {
	var u *leadcap.User
	if p := access.FromContext(r.Context()); p != nil {
		u = p.User
	}
	a := actor(r, u)
	label := a.Email
	if label == "" {
		label = "anonymous"
	}
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	return s.Store.AppendAudit(r.Context(), leadcap.AuditEvent{ActorID: a.UserID, Actor: label, Action: action,
		Target: target, ClientIP: a.ClientIP, UserAgent: a.UserAgent, Result: leadcap.AuditSuccess, Detail: detail})
}

// purgeConferenceObjects removes the QR codes of a deleted conference and,
// when it had leads, every version of their raw copies.
func (s *Server) purgeConferenceObjects(ctx context.Context, conferenceID string, hadLeads bool) error {
	if s.Blob == nil {
		return nil
	}
	keys := []string{qrKey(conferenceID, "png"), qrKey(conferenceID, "svg")}
	if hadLeads {
		// raw/YYYY/MM/DD/<conference-id>/<lead-id>.json
		err := s.Blob.ListVersions(ctx, "raw/", func(info blob.Info) error {
			parts := strings.Split(info.Key, "/")
			if len(parts) == 6 && parts[4] == conferenceID && !slices.Contains(keys, info.Key) {
				keys = append(keys, info.Key)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, k := range keys {
		if _, err := s.Blob.Purge(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
