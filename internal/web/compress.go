package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// minGzip is the smallest body worth compressing.
const minGzip = 1024

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(strings.ReplaceAll(q, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// gzipBytes returns b compressed.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// writeBytes writes a complete body with its length.
func writeBytes(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// writePage writes a rendered page, gzipped when the client accepts it and
// the page is large enough to gain. Pages are a few kilobytes, rendered
// into memory first so that a template error never sends half a page.
func (b *Booth) writePage(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Add("Vary", "Accept-Encoding")
	if len(body) >= minGzip && acceptsGzip(r) {
		var buf bytes.Buffer
		zw := b.gzipWriter(&buf)
		zw.Write(body)
		zw.Close()
		b.gzPool.Put(zw)
		h.Set("Content-Encoding", "gzip")
		body = buf.Bytes()
	}
	writeBytes(w, r, status, body)
}

// gzipWriter returns a pooled gzip writer reset to write to buf.
func (b *Booth) gzipWriter(buf *bytes.Buffer) *gzip.Writer {
	if zw, ok := b.gzPool.Get().(*gzip.Writer); ok {
		zw.Reset(buf)
		return zw
	}
	zw, _ := gzip.NewWriterLevel(buf, gzip.DefaultCompression)
	return zw
}
