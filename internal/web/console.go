package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"golang.org/x/text/language/display"
)

// consoleFiles are the console's templates, and its assets in
// console/static, apart from the booth form's so that the form's service
// worker does not carry them to visitors' phones.
//
//go:embed templates/console console/static
var consoleFiles embed.FS

// consolePages are the templates every console page needs; New fails
// without one.
var consolePages = []string{"login", "password", "dashboard", "conferences", "conference", "conference-edit", "sign",
	"leads", "lead", "lead-edit", "users", "user", "audit", "account", "export", "c-error"}

// Console renders the admin console's pages from embedded templates,
// parsed once. Lead text is untrusted: html/template escapes every value
// for where it lands, and no template marks user data as safe HTML.
type Console struct {
	pages  *template.Template
	assets *assets
	log    *slog.Logger
	// translations are the languages besides the default that the booth
	// form speaks, with their names in English.
	translations []Language
}

// Language is a language the booth form speaks: its BCP 47 code and name.
type Language struct{ Code, Name string }

// NewConsole parses the console's templates and loads its assets. A
// missing or broken one is an error, so that it stops start-up.
func NewConsole(log *slog.Logger) (*Console, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Console{log: log}
	static, err := fs.Sub(consoleFiles, "console")
	if err != nil {
		return nil, fmt.Errorf("web: console assets: %w", err)
	}
	if c.assets, err = loadAssets(static); err != nil {
		return nil, fmt.Errorf("web: console assets: %w", err)
	}
	langs, err := loadLanguages(files)
	if err != nil {
		return nil, err
	}
	for _, l := range langs.list[1:] {
		c.translations = append(c.translations, Language{l.code, display.English.Languages().Name(l.tag)})
	}
	c.pages, err = template.New("").Funcs(template.FuncMap{
		"asset":   c.assets.url,
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

// Translations returns the languages besides the default (English) that
// the booth form speaks: conference texts can be given in each.
func (c *Console) Translations() []Language { return slices.Clone(c.translations) }

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

// ServeStatic answers GET /static/{file} when the file is one of the
// console's assets, and reports whether it was.
func (c *Console) ServeStatic(w http.ResponseWriter, r *http.Request) bool {
	x := c.assets.byURL[staticPrefix+r.PathValue("file")]
	if x == nil {
		return false
	}
	x.serve(w, r, immutable)
	return true
}
