package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed templates/console static/console.css static/console.js
var consoleFiles embed.FS

// consolePages are the templates every console page needs; New fails
// without one.
var consolePages = []string{"login", "password", "dashboard", "conferences", "conference", "conference-edit", "sign",
	"leads", "lead", "lead-edit", "users", "user", "audit", "account", "c-error"}

// Console renders the admin console's pages from embedded templates,
// parsed once. Lead text is untrusted: html/template escapes every value
// for where it lands, and no template marks user data as safe HTML.
type Console struct {
	pages  *template.Template
	assets map[string]consoleAsset // by name
	log    *slog.Logger
}

type consoleAsset struct {
	url, ctype string
	body       []byte
}

// NewConsole parses the console's templates and loads its assets. A
// missing or broken one is an error, so that it stops start-up.
func NewConsole(log *slog.Logger) (*Console, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Console{assets: map[string]consoleAsset{}, log: log}
	names, err := fs.Glob(consoleFiles, "static/*")
	if err != nil {
		return nil, fmt.Errorf("web: console assets: %w", err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(consoleFiles, n)
		if err != nil {
			return nil, fmt.Errorf("web: console assets: %w", err)
		}
		name := path.Base(n)
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		ctype := "text/css; charset=utf-8"
		if ext == ".js" {
			ctype = "text/javascript; charset=utf-8"
		}
		c.assets[name] = consoleAsset{url: "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext, ctype: ctype, body: b}
	}
	c.pages, err = template.New("").Funcs(template.FuncMap{
		"asset":   c.assetURL,
		"sub":     func(a float64, b float64) float64 { return a - b },
		"fmtTime": formatTime,
	}).ParseFS(consoleFiles, "templates/console/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: console templates: %w", err)
	}
	for _, name := range consolePages {
		if c.pages.Lookup(name) == nil {
			return nil, fmt.Errorf("web: console templates: no template %q", name)
		}
	}
	return c, nil
}

func (c *Console) assetURL(name string) (string, error) {
	a, ok := c.assets[name]
	if !ok {
		return "", fmt.Errorf("web: no console asset %q", name)
	}
	return a.url, nil
}

// formatTime shows a time as a <time> element in UTC; the console's
// script shows it in the reader's own time zone.
func formatTime(t time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `">` + t.Format("2 Jan 2006 15:04") + ` UTC</time>`)
}

// Render answers the page name with data and the status. The page is
// rendered whole before anything is sent, so a template failure is a
// clean 500.
func (c *Console) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := c.pages.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.ErrorContext(r.Context(), "render console page", "component", "console", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// ServeAsset answers a console asset by its hashed URL, cached for a year.
func (c *Console) ServeAsset(w http.ResponseWriter, r *http.Request) bool {
	for _, a := range c.assets {
		if a.url == r.URL.Path {
			w.Header().Set("Content-Type", a.ctype)
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			w.Write(a.body)
			return true
		}
	}
	return false
}
