package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

// handleFormToken is GET /api/v1/conferences/{slug}/form-token, public: a
// fresh render token for the booth form of an open conference, with the
// proof of work's difficulty when the conference asks for one. The
// JavaScript form calls it; the server-rendered form embeds the same.
func (s *Server) handleFormToken(w http.ResponseWriter, r *http.Request) {
	if s.Forms == nil {
		s.writeError(w, r, "leads", leadcap.Errorf(leadcap.ENOTFOUND, "render tokens are not in use on this server"))
		return
	}
	c, err := s.Capture.Conference(r.Context(), r.PathValue("slug"))
	if err != nil {
		s.writeError(w, r, "leads", err)
		return
	}
	if c.Status != leadcap.StatusOpen {
		s.writeError(w, r, "leads", leadcap.Errorf(leadcap.ECONFLICT, "conference %q is not open for leads", c.Slug))
		return
	}
	writeJSON(w, http.StatusOK, s.Forms.Token(c))
}

// handleShieldRules is GET /api/v1/shield/rules: the rules in force, or
// with all=true the expired ones too.
func (s *Server) handleShieldRules(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "all")
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	all, err := strconv.ParseBool(q.Get("all"))
	if q.Get("all") != "" && err != nil {
		s.writeError(w, r, "shield", badQuery(map[string]string{"all": "must be true or false"}))
		return
	}
	rules, err := s.Store.ShieldRules(r.Context())
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	now := s.Now()
	out := []*leadcap.ShieldRule{}
	for _, rule := range rules {
		if all || rule.Active(now) {
			out = append(out, rule)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
}

// handleAddShieldRule is POST /api/v1/shield/rules: a block or allow rule
// for a network or a country, with an optional note and expiry (an
// expires_at time, or "for" a duration such as "24h"). A rule for the same
// action and target is replaced (200); a new one is 201. Every server
// applies it within a second.
func (s *Server) handleAddShieldRule(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action    string `json:"action"`
		Network   string `json:"network"`
		Country   string `json:"country"`
		Note      string `json:"note"`
		ExpiresAt string `json:"expires_at"`
		For       string `json:"for"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	now := s.Now()
	rule := &leadcap.ShieldRule{Action: in.Action, Network: in.Network, Country: in.Country, Note: in.Note}
	fields := map[string]string{}
	if in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			fields["expires_at"] = "must be a time like 2027-03-02T18:00:00Z"
		}
		rule.ExpiresAt = t
	}
	if in.For != "" {
		d, err := time.ParseDuration(in.For)
		switch {
		case err != nil || d <= 0:
			fields["for"] = "must be a duration like 30m or 24h"
		case in.ExpiresAt != "":
			fields["for"] = "give for or expires_at, not both"
		}
		rule.ExpiresAt = now.Add(d)
	}
	if err := leadcap.FieldErrors(fields); err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	p := access.FromContext(r.Context())
	created, err := shield.AddRule(r.Context(), s.Store, actor(r, p.User), rule, now)
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, rule)
}

// handleDeleteShieldRule is DELETE /api/v1/shield/rules/{id}.
func (s *Server) handleDeleteShieldRule(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.writeError(w, r, "shield", leadcap.Errorf(leadcap.ENOTFOUND, "no such shield rule"))
		return
	}
	p := access.FromContext(r.Context())
	rule, err := shield.RemoveRule(r.Context(), s.Store, actor(r, p.User), id, s.Now())
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

// handleShieldBlocks is GET /api/v1/shield/blocks: the block record since
// a time (default the last hour), newest last, at most limit rows.
func (s *Server) handleShieldBlocks(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "since", "limit")
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	limit, _, err := pageParams(q)
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	fields := map[string]string{}
	since := timeParam(q, "since", fields)
	if err := badQuery(fields); err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	if since.IsZero() {
		since = s.Now().Add(-time.Hour)
	}
	recs, err := s.Store.ShieldBlocks(r.Context(), since, limit)
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	if recs == nil {
		recs = []leadcap.ShieldBlockRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocks": recs})
}

// handleQuarantine is GET /api/v1/shield/quarantine: the leads stored as
// suspected spam, with the reason, oldest first; conference narrows it to
// one conference (slug or id).
func (s *Server) handleQuarantine(w http.ResponseWriter, r *http.Request) {
	q, err := query(r, "conference", "limit", "after")
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	limit, _, err := pageParams(q)
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	f := store.LeadFilter{OnlySpam: true, Limit: limit, After: q.Get("after")}
	if slug := q.Get("conference"); slug != "" {
		c, err := s.Store.Conference(r.Context(), slug)
		if err != nil {
			s.writeError(w, r, "shield", err)
			return
		}
		f.ConferenceID = c.ID
	}
	leads, next, err := s.Store.Leads(r.Context(), f)
	if err != nil {
		s.writeError(w, r, "shield", err)
		return
	}
	if leads == nil {
		leads = []*leadcap.Lead{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"leads": leads, "next": next})
}
