// Package web serves leadcap's web pages: the booth form visitors fill in on
// a phone or a kiosk tablet. Pages are rendered on the server from embedded
// templates, parsed once at start, in the visitor's language from embedded
// message catalogs; static assets are served under content-hashed URLs and
// cached for ever; the form works without JavaScript, and its ES modules add
// checks as the visitor types, an offline queue, kiosk mode and a service
// worker that keeps the form on the device.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/google/uuid"

	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/shield"
)

//go:embed templates messages static
var files embed.FS

// Defaults of the kiosk mode's timings.
const (
	DefaultKioskIdle   = 90 * time.Second // an untouched form is emptied after this
	DefaultKioskThanks = 6 * time.Second  // the thank-you screen shows this long
)

// WorkerPath is the URL of the service worker. It sits in /c/ so that its
// scope, /c/, covers every form and nothing else.
const WorkerPath = "/c/sw.js"

// Options are what the booth form needs.
type Options struct {
	Capture      *capture.Service // finds conferences and takes submissions
	Kiosk        *kiosk.Links     // checks kiosk device links, revocations too; nil refuses them
	Log          *slog.Logger
	MaxBodyBytes int64 // largest form submission
	// ClientIP returns the visitor's address as the server resolved it.
	ClientIP func(*http.Request) string
	// ErrorStatus maps an error to its HTTP status, as the API does.
	ErrorStatus func(error) int
	// Metrics counts the fields of refused submissions, as the API does;
	// nil counts nothing.
	Metrics     *metrics.Metrics
	KioskIdle   time.Duration // default DefaultKioskIdle
	KioskThanks time.Duration // default DefaultKioskThanks
	Now         func() time.Time
	// Shield puts the form abuse defences' fields in every form: the
	// signed render token, the honeypot and the proof of work's answer.
	// Nil puts none.
	Shield *shield.Forms
}

// Booth serves the booth form. It is safe for concurrent use.
type Booth struct {
	opts       Options
	pages      *template.Template
	assets     *assets
	worker     *asset
	langs      *languages
	jsMessages map[string]map[string]string // by language: the messages the JavaScript shows
	preload    []string                     // modules the entry module imports
	gzPool     sync.Pool
}

// New parses the templates, catalogs and assets. A missing or broken one is
// an error, so that it stops start-up instead of failing a visitor later.
func New(o Options) (*Booth, error) {
	if o.Capture == nil || o.Log == nil || o.ClientIP == nil || o.ErrorStatus == nil {
		return nil, fmt.Errorf("web: new: Capture, Log, ClientIP and ErrorStatus are required")
	}
	if o.KioskIdle <= 0 {
		o.KioskIdle = DefaultKioskIdle
	}
	if o.KioskThanks <= 0 {
		o.KioskThanks = DefaultKioskThanks
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Booth{opts: o}
	var err error
	if b.assets, err = loadAssets(files); err != nil {
		return nil, err
	}
	if b.langs, err = loadLanguages(files); err != nil {
		return nil, err
	}
	b.pages, err = template.New("").Funcs(template.FuncMap{"asset": b.assets.url}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	for _, name := range []string{"form", "thanks", "notice", "shield", "field", "head", "top"} {
		if b.pages.Lookup(name) == nil {
			return nil, fmt.Errorf("web: templates: no template %q", name)
		}
	}
	entry, _ := b.assets.url("booth.js")
	for _, u := range b.assets.urls(".js") {
		if u != entry {
			b.preload = append(b.preload, u)
		}
	}
	if b.worker, err = b.renderWorker(); err != nil {
		return nil, err
	}
	b.jsMessages = map[string]map[string]string{}
	for _, c := range b.langs.list {
		m := map[string]string{}
		for k, s := range c.msgs {
			if jsKey(k) {
				m[k] = s
			}
		}
		b.jsMessages[c.code] = m
	}
	return b, nil
}

// jsKey reports whether the JavaScript needs the message key: it shows
// errors, the queue's state and the leads that need attention.
func jsKey(k string) bool {
	switch prefix, _, _ := strings.Cut(k, "."); prefix {
	case "err", "errors", "queue", "attention":
		return true
	}
	return false
}

// renderWorker makes the service worker script, which lists the assets to
// keep. Its bytes, and so the browser's copy, change whenever an asset does.
func (b *Booth) renderWorker() (*asset, error) {
	src, err := fs.ReadFile(files, "templates/sw.js")
	if err != nil {
		return nil, fmt.Errorf("web: service worker: %w", err)
	}
	t, err := texttemplate.New("sw").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("web: service worker: %w", err)
	}
	urls := b.assets.urls("")
	list, _ := json.Marshal(urls)
	sum := sha256.Sum256([]byte(strings.Join(urls, "\n")))
	version, _ := json.Marshal(hex.EncodeToString(sum[:6]))
	var buf bytes.Buffer
	if err := t.Execute(&buf, map[string]string{"Assets": string(list), "Version": string(version)}); err != nil {
		return nil, fmt.Errorf("web: service worker: %w", err)
	}
	x := newAsset("sw.js", buf.Bytes())
	x.url = WorkerPath
	return x, nil
}

// render executes the template name into memory.
func (b *Booth) render(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := b.pages.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("web: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// newSubmissionID is the submission_id of a form rendered for a browser
// without JavaScript, so that sending the same page twice stores one lead.
// With JavaScript, every submission gets its own id in the browser.
func newSubmissionID() string {
	return uuid.NewString()
}

// ServeStatic is GET /static/{file}: an asset under its hashed name.
func (b *Booth) ServeStatic(w http.ResponseWriter, r *http.Request) {
	x := b.assets.byURL[staticPrefix+r.PathValue("file")]
	if x == nil {
		http.NotFound(w, r)
		return
	}
	x.serve(w, r, immutable)
}

// ServeWorker is GET /c/sw.js, the service worker. Browsers check it for
// updates on every visit, so it is never cached unasked.
func (b *Booth) ServeWorker(w http.ResponseWriter, r *http.Request) {
	b.worker.serve(w, r, "no-cache")
}
