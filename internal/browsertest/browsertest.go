// Package browsertest starts headless Chromium for leadcap's browser tests,
// which drive the real pages with chromedp.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Start starts headless Chromium with a w×h window and returns its
// context; it stops when the test ends. Chromium is LEADCAP_CHROMIUM, else
// /usr/bin/chromium, else chromium on the PATH. Without one the test is
// skipped, or fails under CI=true, where browser tests are required.
func Start(t testing.TB, w, h int) context.Context {
	t.Helper()
	path := os.Getenv("LEADCAP_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s: browser tests are required under CI=true", path)
		} else {
			t.Skipf("no Chromium at %s; skipping the browser tests", path)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(w, h))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return bctx
}

// JSString quotes s as a JavaScript string literal, safe inside a script
// element too.
func JSString(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "</", `<\/`)
}
