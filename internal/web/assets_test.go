package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// budget is the most the form's HTML, CSS and JavaScript may weigh,
// uncompressed, in total.
const budget = 50 << 10

var assetRE = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

// pageAssets returns the asset URLs a form page loads.
func pageAssets(t *testing.T, body string) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, m := range assetRE.FindAllStringSubmatch(body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	if len(out) < 3 {
		t.Fatalf("the page loads only %v", out)
	}
	return out
}

func fetch(t *testing.T, ts *testServer, path string, gz bool, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// A Transport that asks for nothing itself and decompresses nothing.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStaticAssets(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	mustConference(t, ts.store, expo("belize-expo", leadcap.StatusOpen))
	_, html := fetch(t, ts, "/c/belize-expo", false)
	urls := pageAssets(t, string(html))

	hashed := regexp.MustCompile(`^/static/[a-z]+\.[0-9a-f]{10}\.(js|css)$`)
	for _, u := range urls {
		if !hashed.MatchString(u) {
			t.Errorf("%s is not content-hashed", u)
		}
		res, plain := fetch(t, ts, u, false)
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			res.Header.Get("Content-Encoding") != "" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s: %d %v", u, res.StatusCode, res.Header)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
			t.Errorf("%s: Content-Type %s", u, ct)
		}
		res, zipped := fetch(t, ts, u, true)
		if res.Header.Get("Content-Encoding") != "gzip" || len(zipped) >= len(plain) || !bytes.Equal(gunzip(t, zipped), plain) {
			t.Errorf("%s: gzip %q, %d of %d bytes", u, res.Header.Get("Content-Encoding"), len(zipped), len(plain))
		}
		if res, _ := fetch(t, ts, u, false, "If-None-Match", res.Header.Get("ETag")); res.StatusCode != 304 {
			t.Errorf("%s: revalidation got %d", u, res.StatusCode)
		}
		// Imports name the hashed URLs of their modules too.
		for _, m := range regexp.MustCompile(`from\s*['"]([^'"]+)['"]`).FindAllStringSubmatch(string(plain), -1) {
			if !hashed.MatchString("/static/" + strings.TrimPrefix(m[1], "./")) {
				t.Errorf("%s imports %s, which is not content-hashed", u, m[1])
			}
		}
	}
	for _, u := range []string{"/static/booth.js", "/static/booth.0000000000.js", "/static/../templates/form.html", "/static/", "/static/sw.js"} {
		if res, _ := fetch(t, ts, u, false); res.StatusCode == 200 {
			t.Errorf("%s is served", u)
		}
	}

	t.Run("service worker", func(t *testing.T) {
		res, sw := fetch(t, ts, "/c/sw.js", false)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
			res.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("sw.js: %d %v", res.StatusCode, res.Header)
		}
		for _, u := range urls {
			if !strings.Contains(string(sw), `"`+u+`"`) {
				t.Errorf("the service worker does not keep %s", u)
			}
		}
	})

	t.Run("pages are compressed", func(t *testing.T) {
		res, zipped := fetch(t, ts, "/c/belize-expo", true)
		if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(string(gunzip(t, zipped)), "<h1>Belize Adventure Expo</h1>") {
			t.Fatalf("form page: %v", res.Header)
		}
	})
}

// TestPageWeight measures the form as a browser loads it from the real
// server: the page, its stylesheet, its modules and the service worker.
func TestPageWeight(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	mustConference(t, ts.store, expo("belize-expo", leadcap.StatusOpen))
	for _, lang := range []string{"en", "es"} {
		res, html := fetch(t, ts, "/c/belize-expo?lang="+lang, false)
		if res.StatusCode != 200 {
			t.Fatalf("form: %d", res.StatusCode)
		}
		total, wire := len(html), 0
		_, z := fetch(t, ts, "/c/belize-expo?lang="+lang, true)
		wire += len(z)
		parts := []string{"html " + strconv.Itoa(len(html))}
		for _, u := range append(pageAssets(t, string(html)), "/c/sw.js") {
			_, b := fetch(t, ts, u, false)
			_, z := fetch(t, ts, u, true)
			total += len(b)
			wire += len(z)
			parts = append(parts, u+" "+strconv.Itoa(len(b)))
		}
		t.Logf("%s: %d bytes uncompressed (%d gzipped): %s", lang, total, wire, strings.Join(parts, ", "))
		if total > budget {
			t.Errorf("%s: the form weighs %d bytes, over the budget of %d", lang, total, budget)
		}
		// Nothing from another origin: every URL in the page is local.
		for _, m := range regexp.MustCompile(`(?:href|src|action)="([^"]*)"`).FindAllStringSubmatch(string(html), -1) {
			if !strings.HasPrefix(m[1], "/") || strings.HasPrefix(m[1], "//") {
				if !strings.HasPrefix(m[1], "#") {
					t.Errorf("the page refers to %q", m[1])
				}
			}
		}
		if strings.Contains(string(html), "://") {
			t.Error("the page holds an absolute URL")
		}
	}
}
