package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/qrcode"
)

// qrScale is the width of a QR module in the PNG, in pixels: about 400 px
// for a form link, enough for a printed sign.
const qrScale = 10

// qrKey is where a conference's QR code is kept in the object store.
func qrKey(conferenceID, ext string) string { return "qr/" + conferenceID + "." + ext }

// publicBase is the base URL of booth form links: the configured public
// URL, or else the scheme and host the request came to.
func (s *Server) publicBase(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// formURL is the link to the booth form of c.
func (s *Server) formURL(r *http.Request, c *leadcap.Conference) string {
	return s.publicBase(r) + "/c/" + url.PathEscape(c.Slug)
}

// conferenceQR draws the QR codes of c's form link and makes sure the
// object store holds them at qr/<id>.png and .svg. Drawing is
// deterministic, so a stored code whose hash differs points at an old
// link (the slug or the public URL changed) and is replaced by a new
// version.
func (s *Server) conferenceQR(ctx context.Context, r *http.Request, c *leadcap.Conference) (pngBytes, svgBytes []byte, err error) {
	link := s.formURL(r, c)
	code, err := qrcode.Encode(link)
	if err != nil {
		return nil, nil, fmt.Errorf("qr of conference %s: %w", c.ID, err)
	}
	if pngBytes, err = code.PNG(qrScale); err != nil {
		return nil, nil, err
	}
	svgBytes = code.SVG("QR code: " + link)
	if s.Blob == nil {
		return pngBytes, svgBytes, nil
	}
	for ext, body := range map[string][]byte{"png": pngBytes, "svg": svgBytes} {
		key := qrKey(c.ID, ext)
		sum := sha256.Sum256(body)
		info, err := s.Blob.Stat(ctx, key)
		if err == nil && info.SHA256 == hex.EncodeToString(sum[:]) {
			continue
		}
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			return nil, nil, err
		}
		if _, err := s.Blob.Put(ctx, key, bytes.NewReader(body)); err != nil {
			return nil, nil, err
		}
	}
	return pngBytes, svgBytes, nil
}

// refreshQR redraws c's QR codes after a change. A failure is logged, not
// returned: the change is saved, and the next download draws them again.
func (s *Server) refreshQR(r *http.Request, c *leadcap.Conference) {
	if _, _, err := s.conferenceQR(r.Context(), r, c); err != nil {
		s.Log.WarnContext(r.Context(), "store QR code", "component", "conferences", "conference_id", c.ID, "err", err)
	}
}

// handleQRPNG is GET /api/v1/conferences/{id}/qr.png, and handleQRSVG
// .../qr.svg: the QR code of the conference's booth form link, shown
// inline, or as a file with ?download=1.
func (s *Server) handleQRPNG(w http.ResponseWriter, r *http.Request) { s.serveQR(w, r, "png") }

func (s *Server) handleQRSVG(w http.ResponseWriter, r *http.Request) { s.serveQR(w, r, "svg") }

func (s *Server) serveQR(w http.ResponseWriter, r *http.Request, ext string) {
	q, err := query(r, "download")
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	c, err := s.Store.Conference(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	pngBytes, svgBytes, err := s.conferenceQR(r.Context(), r, c)
	if err != nil {
		s.writeError(w, r, "conferences", err)
		return
	}
	body, ctype := pngBytes, "image/png"
	if ext == "svg" {
		body, ctype = svgBytes, "image/svg+xml"
		// An SVG opened on its own is a document: it may run nothing.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	w.Header().Set("Content-Type", ctype)
	if q.Get("download") != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-qr.%s"`, c.Slug, ext))
	}
	w.Write(body)
}
