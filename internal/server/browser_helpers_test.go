package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/leadcap/leadcap/internal/browsertest"
)

// Viewports of the browser tests and their screenshots.
const (
	desktopW, desktopH = 1280, 860
	phoneW, phoneH     = 390, 844
)

// startBrowser starts headless Chromium for the test (see browsertest.Start).
func startBrowser(t *testing.T) context.Context {
	return browsertest.Start(t, desktopW, desktopH)
}

// tab is a browser tab in a browser context of its own (its own cookies,
// as another person's browser). It records every JavaScript dialog that
// opens, and dismisses it: a console page must never open one.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	dialogs []string
}

func newTab(t *testing.T, browser context.Context, w, h int64) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	b := &tab{t: t, ctx: ctx}
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			chromedp.Call(hctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			cancel()
		}
	}()
	return b
}

// dialogsSeen returns the dialogs that opened so far.
func (b *tab) dialogsSeen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// clearDialogs forgets the dialogs seen so far.
func (b *tab) clearDialogs() {
	b.mu.Lock()
	b.dialogs = nil
	b.mu.Unlock()
}

// do runs actions, failing the test on an error or after 20 seconds.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open loads a page and waits until its document is complete.
func (b *tab) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
	b.wait("the page to load", `document.readyState === "complete"`, 10*time.Second)
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// body is the text of the page as a person reads it.
func (b *tab) body() string { return b.eval(`document.body.innerText`) }

// path is the path and query the tab shows.
func (b *tab) path() string { return b.eval(`location.pathname + location.search`) }

// wait waits until the JavaScript expression is true, across navigations.
func (b *tab) wait(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		switch {
		case err == nil && ok:
			return
		case time.Now().After(deadline):
			b.t.Fatalf("waiting for %s (%s): %v; the page says: %.400s", what, js, err, b.eval(`document.body ? document.body.innerText : ""`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// set gives form fields values, by CSS selector, as typing would.
func (b *tab) set(values map[string]string) {
	b.t.Helper()
	for sel, v := range values {
		b.eval(`(() => { const e = document.querySelector(` + jsString(sel) + `);
			if (!e) throw new Error("no " + ` + jsString(sel) + `);
			e.value = ` + jsString(v) + `; e.dispatchEvent(new Event("input", {bubbles: true})); return ""; })()`)
	}
}

// click clicks the element sel and waits for the page it leads to, when
// it leads to one (a form's submit button, a link).
func (b *tab) click(sel string) {
	b.t.Helper()
	b.eval(`window.__before = true; ""`)
	b.do(chromedp.Click(chromedp.CSS(sel)))
	b.wait("the next page after clicking "+sel, `!window.__before && document.readyState === "complete"`, 10*time.Second)
}

// clickHere clicks an element that changes the page in place.
func (b *tab) clickHere(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// count is how many elements match sel.
func (b *tab) count(sel string) int {
	b.t.Helper()
	var n int
	json.Unmarshal([]byte(b.eval(`String(document.querySelectorAll(`+jsString(sel)+`).length)`)), &n)
	return n
}

// screenshot saves the page as docs/screenshots/<name>.png when
// LEADCAP_SCREENSHOTS=1, the whole page when fullPage.
func (b *tab) screenshot(name string, fullPage bool) {
	b.t.Helper()
	if os.Getenv("LEADCAP_SCREENSHOTS") != "1" {
		return
	}
	action := chromedp.CaptureScreenshot()
	if fullPage {
		action = chromedp.FullScreenshot(100)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// viewport sets the tab's size: desktop or phone.
func (b *tab) viewport(w, h int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(w, h))
}

// printMedia makes the tab render as for printing (or not).
func (b *tab) printMedia(on bool) {
	b.t.Helper()
	media := ""
	if on {
		media = "print"
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media}); err != nil {
		b.t.Fatal(err)
	}
}

// jsString quotes s as a JavaScript string.
func jsString(s string) string { return browsertest.JSString(s) }
