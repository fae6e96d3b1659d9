package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/access"
	"github.com/leadcap/leadcap/internal/export"
)

// maxExportBody bounds the body of POST /api/v1/exports.
const maxExportBody = 4 << 10

// exportRequest is the body of POST /api/v1/exports.
type exportRequest struct {
	export.Request
	LinkTTL string `json:"link_ttl,omitempty"` // how long the download link works, e.g. "1h"
}

// exportMeta says who acts on an export and from where: the signed-in
// user, or for a download link whoever holds it.
func exportMeta(r *http.Request) export.Meta {
	m := export.Meta{Actor: export.Actor{Name: export.ActorAnonymous}, ClientIP: clientIP(r.Context()).String(),
		UserAgent: r.UserAgent()}
	if p := access.FromContext(r.Context()); p != nil && p.User != nil {
		m.Actor = export.Actor{ID: p.User.ID, Name: p.User.Email}
	}
	return m
}

// handleCreateExport is POST /api/v1/exports. A small export is written
// before the answer, 201 with its download link; a large one answers 202
// with its id, and GET /api/v1/exports/{id} follows it.
func (s *Server) handleCreateExport(w http.ResponseWriter, r *http.Request) {
	var in exportRequest
	if err := decodeStrict(w, r, maxExportBody, &in); err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	ttl, err := export.ParseLinkTTL(in.LinkTTL)
	if err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	e, err := s.Exports.Create(r.Context(), in.Request, exportMeta(r))
	if err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	status := http.StatusCreated
	if e.Status == leadcap.ExportRunning {
		status = http.StatusAccepted
		w.Header().Set("Location", "/api/v1/exports/"+e.ID)
	}
	writeJSON(w, status, s.Exports.View(e, ttl))
}

// handleListExports is GET /api/v1/exports?limit=N&before=ID: newest first,
// each done export with a fresh download link; "next" continues the list.
func (s *Server) handleListExports(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.writeError(w, r, "exports", leadcap.FieldErrors(map[string]string{"limit": "want a number from 1 to 200"}))
			return
		}
		limit = n
	}
	list, err := s.Exports.List(r.Context(), q.Get("before"), limit+1)
	if err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	views := make([]export.View, len(list))
	for i, e := range list {
		views[i] = s.Exports.View(e, 0)
	}
	writeJSON(w, http.StatusOK, map[string]any{"exports": views, "next": next})
}

// handleGetExport is GET /api/v1/exports/{id}?link_ttl=1h: status and
// progress (rows of total) while running, then the file's size, SHA-256
// and a fresh download link.
func (s *Server) handleGetExport(w http.ResponseWriter, r *http.Request) {
	ttl, err := export.ParseLinkTTL(r.URL.Query().Get("link_ttl"))
	if err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	e, err := s.Exports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	writeJSON(w, http.StatusOK, s.Exports.View(e, ttl))
}

// handleDeleteExport is DELETE /api/v1/exports/{id}: the file, every
// version of it, and the record.
func (s *Server) handleDeleteExport(w http.ResponseWriter, r *http.Request) {
	if err := s.Exports.Delete(r.Context(), r.PathValue("id"), exportMeta(r)); err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleDownloadExport is GET /api/v1/exports/{id}/download?expires=..&sig=..,
// a signed link: its signature is its permission, so it works without a
// session until it expires (410); a changed link is 403. The file is
// decrypted as it is sent; should it not match its recorded SHA-256, the
// connection is cut rather than the download finished.
func (s *Server) handleDownloadExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e, body, err := s.Exports.Download(r.Context(), r.PathValue("id"), q.Get("expires"), q.Get("sig"), exportMeta(r))
	if err != nil {
		s.writeError(w, r, "exports", err)
		return
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", export.ContentType(e.Format))
	h.Set("Content-Length", strconv.FormatInt(e.Bytes, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": s.exportFilename(r, e)}))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// The server's write timeout is for ordinary answers; a large file
	// gets a minute more with each piece sent, so only a stalled client
	// is cut off.
	rc := http.NewResponseController(w)
	buf := make([]byte, 64<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			rc.SetWriteDeadline(time.Now().Add(time.Minute))
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.Log.ErrorContext(r.Context(), "export download cut off", "component", "exports", "export_id", e.ID, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// exportFilename names a downloaded export:
// leadcap-<conference slug or "all">-<YYYY-MM-DD>-<id prefix>.<format>.
func (s *Server) exportFilename(r *http.Request, e *leadcap.Export) string {
	what := "all"
	if e.Filter.ConferenceID != "" {
		what = "conference"
		if c, err := s.Store.Conference(r.Context(), e.Filter.ConferenceID); err == nil {
			what = c.Slug
		}
	}
	return "leadcap-" + what + "-" + e.CreatedAt.UTC().Format(time.DateOnly) + "-" + e.ID[:8] + "." + e.Format
}

// decodeStrict reads a JSON object of at most limit bytes into v: the
// content type must be JSON, unknown fields and trailing data are refused.
func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return leadcap.Errorf(leadcap.EUNSUPPORTED, "send the body as application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return leadcap.Errorf(leadcap.EBADREQUEST, "body: data after the JSON object")
		}
		return nil
	case errors.As(err, &tooLarge):
		return leadcap.Errorf(leadcap.ETOOLARGE, "body is over %d bytes", limit)
	}
	return leadcap.Errorf(leadcap.EBADREQUEST, "body: %s", strings.TrimPrefix(err.Error(), "json: "))
}
