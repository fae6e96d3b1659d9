package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
)

// staticPrefix is where assets are served.
const staticPrefix = "/static/"

// immutable is the Cache-Control of content-hashed assets: a changed file
// gets a new URL, so a browser may keep each one for a year unasked.
const immutable = "public, max-age=31536000, immutable"

// asset is one static file, ready to serve.
type asset struct {
	name  string // as in static/, e.g. "booth.js"
	url   string // content-hashed, e.g. "/static/booth.3f2a1c9d0e.js"
	ctype string
	body  []byte
	gz    []byte // gzip of body; nil when it would not be smaller
}

// assets are the files of static/, each under a URL that names a hash of
// its content. An ES module's imports of sibling modules ("./queue.js")
// are rewritten to the hashed URLs, so that a changed module changes the
// URL of every module that imports it.
type assets struct {
	byName map[string]*asset
	byURL  map[string]*asset
}

// importRE matches a static import of a sibling module.
var importRE = regexp.MustCompile(`((?:from|import)\s*)(["'])\./([A-Za-z0-9_-]+\.js)(["'])`)

func loadAssets(fsys fs.FS) (*assets, error) {
	names, err := fs.Glob(fsys, "static/*")
	if err != nil {
		return nil, err
	}
	a := &assets{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	raw := map[string][]byte{}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		raw[path.Base(n)] = b
	}
	var load func(name string, stack []string) (*asset, error)
	load = func(name string, stack []string) (*asset, error) {
		if x := a.byName[name]; x != nil {
			return x, nil
		}
		for _, s := range stack {
			if s == name {
				return nil, fmt.Errorf("web: static/%s imports itself through %s", name, strings.Join(stack, " > "))
			}
		}
		body, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("web: no static/%s (imported by %s)", name, strings.Join(stack, " > "))
		}
		if strings.HasSuffix(name, ".js") {
			var ferr error
			body = importRE.ReplaceAllFunc(body, func(m []byte) []byte {
				g := importRE.FindSubmatch(m)
				dep, err := load(string(g[3]), append(stack, name))
				if err != nil {
					ferr = err
					return m
				}
				return []byte(string(g[1]) + string(g[2]) + "./" + path.Base(dep.url) + string(g[4]))
			})
			if ferr != nil {
				return nil, ferr
			}
		}
		x := newAsset(name, body)
		a.byName[name], a.byURL[x.url] = x, x
		return x, nil
	}
	sorted := make([]string, 0, len(raw))
	for n := range raw {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if _, err := load(n, nil); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	x := &asset{
		name:  name,
		url:   staticPrefix + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext,
		ctype: contentType(name),
		body:  body,
	}
	if gz := gzipBytes(body); len(gz) < len(body) {
		x.gz = gz
	}
	return x
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// url returns the hashed URL of the asset name, or an error naming it.
func (a *assets) url(name string) (string, error) {
	if x := a.byName[name]; x != nil {
		return x.url, nil
	}
	return "", fmt.Errorf("web: no asset %q", name)
}

// modules returns the URLs of the JavaScript modules, for preloading, and
// every asset URL, for the service worker to cache.
func (a *assets) urls(ext string) []string {
	var out []string
	for _, x := range a.byName {
		if ext == "" || path.Ext(x.name) == ext {
			out = append(out, x.url)
		}
	}
	sort.Strings(out)
	return out
}

// serve answers x, compressed when the client accepts gzip, with the
// caching headers given.
func (x *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", x.ctype)
	h.Set("Cache-Control", cacheControl)
	h.Set("Vary", "Accept-Encoding")
	etag := `"` + path.Base(x.url) + `"`
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && bytes.Contains([]byte(inm), []byte(etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := x.body
	if x.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = x.gz
	}
	writeBytes(w, r, http.StatusOK, body)
}
